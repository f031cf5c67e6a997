use std::collections::BTreeMap;

use diesel::prelude::*;
use diesel::sql_types::Text;
use tenantgate::db::DbConn;

use crate::helpers::*;

#[derive(QueryableByName)]
struct Column {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
}

/// Table → sorted column names, read from the database's own catalog.
fn columns(conn: &mut DbConn) -> BTreeMap<String, Vec<String>> {
    let rows: Vec<Column> = match conn {
        DbConn::Pg(c) => diesel::sql_query(
            "SELECT table_name::text AS table_name, column_name::text AS column_name
             FROM information_schema.columns
             WHERE table_schema = 'public' AND table_name <> '__diesel_schema_migrations'",
        )
        .load(&mut **c)
        .unwrap(),
        DbConn::Sqlite(c) => diesel::sql_query(
            "SELECT m.name AS table_name, p.name AS column_name
             FROM sqlite_master m JOIN pragma_table_info(m.name) p
             WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name <> '__diesel_schema_migrations'",
        )
        .load(&mut **c)
        .unwrap(),
    };
    let mut tables: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for row in rows {
        tables.entry(row.table_name).or_default().push(row.column_name);
    }
    tables.values_mut().for_each(|cols| cols.sort());
    tables
}

#[tokio::test]
async fn both_backends_end_with_the_same_tables_and_columns() {
    let Some(_) = postgres_url() else {
        eprintln!("skipped: TEST_DATABASE_URL is not set");
        return;
    };
    let sqlite = spawn_app(Backend::Sqlite).await;
    let postgres = spawn_app(Backend::Postgres).await;
    let sqlite_columns = sqlite.db.run(|c| Ok(columns(c))).await.unwrap();
    let postgres_columns = postgres.db.run(|c| Ok(columns(c))).await.unwrap();
    assert_eq!(sqlite_columns.len(), 12, "{sqlite_columns:?}");
    assert_eq!(sqlite_columns, postgres_columns);
}

crate::on_both_backends! {
    async fn migrating_again_changes_nothing(backend) {
        let app = spawn_app(backend).await;
        let before = app.db.run(|c| Ok(columns(c))).await.unwrap();
        let db = app.db.clone();
        let applied = tokio::task::spawn_blocking(move || db.migrate()).await.unwrap().unwrap();
        assert!(applied.is_empty(), "second run applied {applied:?}");
        let after = app.db.run(|c| Ok(columns(c))).await.unwrap();
        assert_eq!(before, after);
    }
}
