//! A real SMTP server for the tests: Debian's aiosmtpd, storing what arrives in a Maildir.
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub struct SmtpServer {
    child: Option<Child>,
    pub port: u16,
    dir: PathBuf,
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl SmtpServer {
    pub fn start() -> Self {
        Self::start_on(free_port())
    }

    pub fn start_on(port: u16) -> Self {
        let dir =
            std::env::temp_dir().join(format!("canopy-smtp-{}", uuid::Uuid::now_v7().simple()));
        let mut server = Self {
            child: None,
            port,
            dir,
        };
        server.restart();
        server
    }

    /// Starts (again) on the same port and Maildir.
    pub fn restart(&mut self) {
        let child = Command::new("/usr/bin/python3")
            .args([
                "-m",
                "aiosmtpd",
                "-n",
                "-l",
                &format!("127.0.0.1:{}", self.port),
            ])
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&self.dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("aiosmtpd (apt-get install python3-aiosmtpd)");
        self.child = Some(child);
        for _ in 0..100 {
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("aiosmtpd did not start");
    }

    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub fn url(&self) -> String {
        // aiosmtpd speaks plain SMTP; in production smtp:// requires STARTTLS.
        format!("smtp://127.0.0.1:{}?tls=none", self.port)
    }

    /// Every message that arrived, decoded enough to read links (quoted-printable undone).
    pub fn messages(&self) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(self.dir.join("new")) else {
            return Vec::new();
        };
        let mut files: Vec<_> = entries.flatten().map(|e| e.path()).collect();
        files.sort();
        files
            .iter()
            .map(|f| decode_qp(&std::fs::read_to_string(f).unwrap()))
            .collect()
    }

    /// Waits until at least `n` messages arrived (at most 20 s).
    pub async fn wait_for(&self, n: usize) -> Vec<String> {
        for _ in 0..400 {
            let m = self.messages();
            if m.len() >= n {
                return m;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("expected {n} messages, got {}", self.messages().len());
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn decode_qp(raw: &str) -> String {
    let joined = raw.replace("=\r\n", "").replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'='
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(&joined[i + 1..i + 3], 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The first link to `base` + `prefix` in a message.
pub fn link(message: &str, base: &str, prefix: &str) -> String {
    let start = format!("{base}{prefix}");
    let at = message
        .find(&start)
        .unwrap_or_else(|| panic!("no {start} link in {message}"));
    message[at..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || ":/.-_".contains(*c))
        .collect()
}
