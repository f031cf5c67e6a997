//! `database.url`: which backend it names, and how to show it without its credentials.

use std::path::PathBuf;

/// A parsed `database.url`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// `postgres://…` or `postgresql://…`, passed to libpq as given.
    Postgres(String),
    /// `sqlite://PATH` or a plain path to the database file.
    Sqlite(PathBuf),
}

impl DatabaseUrl {
    /// Chooses the backend from the URL scheme.
    pub fn parse(url: &str) -> Result<Self, String> {
        let url = url.trim();
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Self::Postgres(url.to_owned()));
        }
        let path = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .unwrap_or(url);
        if path.is_empty() {
            return Err("database.url names no SQLite file".into());
        }
        if path.contains("://") {
            return Err(format!(
                "database.url has an unsupported scheme `{}`: use postgres://, postgresql:// or sqlite://",
                url.split("://").next().unwrap_or_default()
            ));
        }
        Ok(Self::Sqlite(PathBuf::from(path)))
    }

    /// The backend's name as shown in `/readyz` and logs.
    pub fn backend_name(&self) -> &'static str {
        match self {
            Self::Postgres(_) => "postgres",
            Self::Sqlite(_) => "sqlite",
        }
    }

    /// A description safe to log: scheme, host and database, never user or password.
    pub fn describe(url: &str) -> String {
        match Self::parse(url) {
            Ok(Self::Sqlite(path)) => format!("sqlite://{}", path.display()),
            Ok(Self::Postgres(url)) => {
                let (scheme, rest) = url.split_once("://").unwrap_or(("postgres", ""));
                let host_and_db = rest.rsplit_once('@').map_or(rest, |(_, tail)| tail);
                let host_and_db = host_and_db.split('?').next().unwrap_or_default();
                format!("{scheme}://{host_and_db}")
            }
            Err(_) => "(invalid url)".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scheme_picks_the_backend() {
        let cases = [
            ("postgres://u@h/db", "postgres"),
            ("postgresql://h/db", "postgres"),
            ("sqlite://data/x.db", "sqlite"),
            ("sqlite:///tmp/x.db", "sqlite"),
            ("data/x.db", "sqlite"),
        ];
        for (url, backend) in cases {
            assert_eq!(DatabaseUrl::parse(url).unwrap().backend_name(), backend, "{url}");
        }
        assert_eq!(
            DatabaseUrl::parse("sqlite:///tmp/x.db").unwrap(),
            DatabaseUrl::Sqlite("/tmp/x.db".into())
        );
    }

    #[test]
    fn an_unknown_scheme_is_refused() {
        assert!(DatabaseUrl::parse("mysql://h/db").unwrap_err().contains("mysql"));
    }

    #[test]
    fn the_description_hides_credentials() {
        let d = DatabaseUrl::describe("postgres://alice:hunter2@db.internal:5432/app?sslmode=require");
        assert_eq!(d, "postgres://db.internal:5432/app");
    }
}
