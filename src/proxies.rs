//! Which peers may tell us the client's address. Behind a reverse proxy every request comes
//! from the proxy; only a peer listed in `CANOPY_TRUSTED_PROXIES` is believed when it names
//! the client in `Forwarded` or `X-Forwarded-For`, and then only for the hops it vouches for.
use std::net::IpAddr;

/// An address range: an address and how many leading bits must match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    addr: IpAddr,
    bits: u8,
}

impl Cidr {
    /// `192.0.2.1`, `10.0.0.0/8`, `::1`, `2001:db8::/32`.
    pub fn parse(s: &str) -> Result<Self, String> {
        let (addr, bits) = match s.split_once('/') {
            Some((a, b)) => (a, Some(b)),
            None => (s, None),
        };
        let addr: IpAddr = addr
            .trim()
            .parse()
            .map_err(|_| format!("{s:?} is not an IP address or CIDR range"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let bits = match bits {
            Some(b) => b
                .trim()
                .parse::<u8>()
                .ok()
                .filter(|b| *b <= max)
                .ok_or_else(|| format!("{s:?} has a prefix length outside 0–{max}"))?,
            None => max,
        };
        Ok(Self { addr, bits })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        match (canonical(self.addr), ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => prefix_eq(&net.octets(), &ip.octets(), self.bits),
            (IpAddr::V6(net), IpAddr::V6(ip)) => prefix_eq(&net.octets(), &ip.octets(), self.bits),
            _ => false,
        }
    }
}

/// An IPv4 address that arrived mapped into IPv6 is compared as IPv4.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

fn prefix_eq(a: &[u8], b: &[u8], bits: u8) -> bool {
    let (whole, rest) = ((bits / 8) as usize, bits % 8);
    if a[..whole] != b[..whole] {
        return false;
    }
    rest == 0 || {
        let mask = 0xffu8 << (8 - rest);
        a[whole] & mask == b[whole] & mask
    }
}

/// The configured proxies; empty by default, when forwarded headers are never read.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<Cidr>);

impl TrustedProxies {
    /// A comma- or space-separated list of addresses and ranges.
    pub fn parse(s: &str) -> Result<Self, String> {
        s.split([',', ' '])
            .filter(|p| !p.trim().is_empty())
            .map(Cidr::parse)
            .collect::<Result<Vec<_>, _>>()
            .map(Self)
    }

    pub fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|c| c.contains(ip))
    }

    /// The client's address: the peer, unless the peer is a trusted proxy; then the right-most
    /// forwarded address that is not a trusted proxy (each trusted hop vouches for the one
    /// before it; the first untrusted one could have written anything to its left). A hop
    /// that cannot be read ends the walk at the last trusted hop.
    pub fn client(
        &self,
        peer: IpAddr,
        forwarded: Option<&str>,
        x_forwarded_for: Option<&str>,
    ) -> IpAddr {
        if !self.trusts(peer) {
            return peer;
        }
        let hops: Vec<&str> = match (forwarded, x_forwarded_for) {
            (Some(f), _) => forwarded_for(f),
            (None, Some(x)) => x.split(',').map(str::trim).collect(),
            (None, None) => Vec::new(),
        };
        let mut client = peer;
        for hop in hops.iter().rev() {
            match parse_hop(hop) {
                Some(ip) if self.trusts(ip) => client = ip,
                Some(ip) => return ip,
                None => return client,
            }
        }
        client
    }
}

/// The `for=` values of an RFC 7239 `Forwarded` header, in order.
fn forwarded_for(header: &str) -> Vec<&str> {
    header
        .split(',')
        .filter_map(|element| {
            element.split(';').find_map(|pair| {
                let (k, v) = pair.split_once('=')?;
                k.trim().eq_ignore_ascii_case("for").then(|| v.trim())
            })
        })
        .collect()
}

/// `192.0.2.1`, `192.0.2.1:4711`, `"[2001:db8::1]:4711"`, `2001:db8::1`.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim().trim_matches('"');
    if let Ok(ip) = hop.parse() {
        return Some(ip);
    }
    if let Some(rest) = hop.strip_prefix('[') {
        return rest.split(']').next()?.parse().ok();
    }
    let (host, port) = hop.rsplit_once(':')?;
    port.parse::<u16>().ok()?;
    host.parse().ok()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn ranges_match_their_prefix_only() {
        let net = Cidr::parse("10.1.0.0/16").unwrap();
        assert!(net.contains(ip("10.1.255.3")));
        assert!(!net.contains(ip("10.2.0.1")));
        assert!(
            Cidr::parse("10.0.0.0/12")
                .unwrap()
                .contains(ip("10.15.0.1"))
        );
        assert!(
            !Cidr::parse("10.0.0.0/12")
                .unwrap()
                .contains(ip("10.16.0.1"))
        );
        assert!(
            Cidr::parse("127.0.0.1")
                .unwrap()
                .contains(ip("::ffff:127.0.0.1"))
        );
        assert!(
            Cidr::parse("2001:db8::/32")
                .unwrap()
                .contains(ip("2001:db8:1::5"))
        );
        assert!(!Cidr::parse("::1").unwrap().contains(ip("127.0.0.1")));
        assert!(
            Cidr::parse("0.0.0.0/0")
                .unwrap()
                .contains(ip("203.0.113.9"))
        );
        for bad in ["", "10.0.0.0/33", "nonsense", "::/129", "10.0.0.0/x"] {
            assert!(Cidr::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn only_a_trusted_peer_is_believed_and_only_for_the_hops_it_vouches_for() {
        let proxies = TrustedProxies::parse("127.0.0.1, 10.0.0.0/8").unwrap();
        // Not trusted: the header is ignored.
        assert_eq!(
            proxies.client(ip("203.0.113.5"), None, Some("1.2.3.4")),
            ip("203.0.113.5")
        );
        // Trusted: the right-most untrusted hop, whatever a client wrote to its left.
        assert_eq!(
            proxies.client(
                ip("127.0.0.1"),
                None,
                Some("6.6.6.6, 198.51.100.7, 10.0.0.2")
            ),
            ip("198.51.100.7")
        );
        assert_eq!(
            proxies.client(
                ip("127.0.0.1"),
                Some("for=6.6.6.6, for=\"[2001:db8::7]:4711\";proto=https"),
                Some("9.9.9.9")
            ),
            ip("2001:db8::7")
        );
        assert_eq!(
            proxies.client(ip("127.0.0.1"), Some("for=198.51.100.7:80"), None),
            ip("198.51.100.7")
        );
        // Nothing readable: the last trusted hop.
        assert_eq!(proxies.client(ip("127.0.0.1"), None, None), ip("127.0.0.1"));
        assert_eq!(
            proxies.client(ip("127.0.0.1"), Some("for=unknown"), None),
            ip("127.0.0.1")
        );
        assert_eq!(
            proxies.client(ip("127.0.0.1"), None, Some("10.0.0.9")),
            ip("10.0.0.9")
        );
        // Nobody trusted by default.
        let none = TrustedProxies::default();
        assert_eq!(
            none.client(ip("127.0.0.1"), None, Some("1.2.3.4")),
            ip("127.0.0.1")
        );
    }
}
