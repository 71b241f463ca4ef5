//! The benchmark's reference: TechEmpower's "fortunes" on Canopy's stack — actix-web, askama,
//! diesel + r2d2 on the same PostgreSQL, with the portal's pool size and worker count. One
//! query of a 12-row table, one row added, sorted, rendered and escaped. `bench/run` loads it
//! in turn with the portal's pages, so each page's figure comes with its ratio to this one.
//!   DATABASE_URL  LISTEN (127.0.0.1:8099)  WORKERS (cores)  POOL_SIZE (16)
use actix_web::{App, HttpResponse, HttpServer, web};
use askama::Template;
use diesel::prelude::*;
use diesel::r2d2::{ConnectionManager, Pool};

diesel::table! {
    fortune (id) {
        id -> Integer,
        message -> Text,
    }
}

#[derive(Queryable)]
struct Fortune {
    id: i32,
    message: String,
}

#[derive(Template)]
#[template(path = "fortunes.html")]
struct Fortunes {
    fortunes: Vec<Fortune>,
}

type DbPool = Pool<ConnectionManager<PgConnection>>;

async fn fortunes(pool: web::Data<DbPool>) -> HttpResponse {
    let pool = pool.clone();
    let loaded = web::block(move || -> Result<Vec<Fortune>, String> {
        let mut conn = pool.get().map_err(|e| e.to_string())?;
        fortune::table
            .select((fortune::id, fortune::message))
            .load::<Fortune>(&mut conn)
            .map_err(|e| e.to_string())
    })
    .await;
    let mut rows = match loaded {
        Ok(Ok(rows)) => rows,
        Ok(Err(e)) => return HttpResponse::InternalServerError().body(e),
        Err(e) => return HttpResponse::InternalServerError().body(e.to_string()),
    };
    rows.push(Fortune {
        id: 0,
        message: "Additional fortune added at request time.".into(),
    });
    rows.sort_by(|a, b| a.message.cmp(&b.message));
    match (Fortunes { fortunes: rows }).render() {
        Ok(body) => HttpResponse::Ok()
            .content_type("text/html; charset=utf-8")
            .body(body),
        Err(e) => HttpResponse::InternalServerError().body(e.to_string()),
    }
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let url = std::env::var("DATABASE_URL").map_err(std::io::Error::other)?;
    let pool: DbPool = Pool::builder()
        .max_size(env_or("POOL_SIZE", 16))
        .test_on_check_out(false)
        .build(ConnectionManager::new(url))
        .map_err(std::io::Error::other)?;
    let workers = env_or(
        "WORKERS",
        std::thread::available_parallelism().map_or(2, |n| n.get()),
    );
    let listen = std::env::var("LISTEN").unwrap_or_else(|_| "127.0.0.1:8099".into());
    HttpServer::new(move || {
        App::new()
            .app_data(web::Data::new(pool.clone()))
            .route("/fortunes", web::get().to(fortunes))
    })
    .workers(workers)
    .bind(listen)?
    .run()
    .await
}
