//! Rebuilds when a migration is added or changed: the migrations are embedded at compile time
//! (`diesel_migrations::embed_migrations!`), and cargo does not watch their folder by itself.

fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
