//! The console's stylesheet, script and icon, embedded in the binary and served from our origin.

use actix_web::http::header;
use actix_web::{web, HttpResponse};

/// Links carry the version, so a new release is fetched again despite the cache.
pub const STYLESHEET: &str = concat!("/console/assets/console.css?v=", env!("CARGO_PKG_VERSION"));
pub const SCRIPT: &str = concat!("/console/assets/console.js?v=", env!("CARGO_PKG_VERSION"));
pub const ICON: &str = concat!("/console/assets/icon.svg?v=", env!("CARGO_PKG_VERSION"));

const FILES: [(&str, &str, &str); 3] = [
    (
        "console.css",
        "text/css; charset=utf-8",
        include_str!("assets/console.css"),
    ),
    (
        "console.js",
        "text/javascript; charset=utf-8",
        include_str!("assets/console.js"),
    ),
    ("icon.svg", "image/svg+xml", include_str!("assets/icon.svg")),
];

/// `GET /console/assets/{name}`: open to everyone (the sign-in page needs them); nothing in them
/// is secret.
pub async fn serve(name: web::Path<String>) -> HttpResponse {
    match FILES.iter().find(|(file, _, _)| *file == name.as_str()) {
        Some((_, content_type, body)) => HttpResponse::Ok()
            .content_type(*content_type)
            .insert_header((header::CACHE_CONTROL, "public, max-age=86400"))
            .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
            .body(*body),
        None => HttpResponse::NotFound()
            .content_type("text/plain; charset=utf-8")
            .body("no such asset"),
    }
}
