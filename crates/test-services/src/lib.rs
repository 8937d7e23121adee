//! Tests only: finds the servers some tests need (a PostgreSQL, a KMS-compatible
//! server). `cargo xtask test` starts them, sets their URLs, and promises them in
//! [`PROMISED`]. A test run by hand without them is skipped with a line saying so; a
//! test whose service was promised but is missing fails, so a test command that stops
//! passing a service on cannot turn its tests into silent passes.
//!
//! It must never start a service or guess where one is: that is the test command's.

/// Names the services the test command started, comma-separated (`postgres,kms`).
pub const PROMISED: &str = "THREEDS_TEST_SERVICES";

/// The PostgreSQL server's URL, without a database name (`THREEDS_TEST_POSTGRES`).
pub fn postgres() -> Option<String> {
    service("postgres", "THREEDS_TEST_POSTGRES", "PostgreSQL")
}

/// The KMS-compatible server's URL (`THREEDS_TEST_KMS`; the AWS environment beside it).
pub fn kms() -> Option<String> {
    service("kms", "THREEDS_TEST_KMS", "AWS KMS")
}

/// `var`'s value; else `None` with a line saying the test is skipped, or, when the test
/// command promised `name`, a panic.
///
/// # Panics
/// When `name` is in [`PROMISED`] and `var` is not set.
fn service(name: &str, var: &str, what: &str) -> Option<String> {
    if let Ok(url) = std::env::var(var) {
        return Some(url);
    }
    let promised = std::env::var(PROMISED).unwrap_or_default();
    assert!(
        !promised.split(',').any(|s| s.trim() == name),
        "{PROMISED}={promised} promises {what}, but {var} is not set: \
         the test command started it and did not say where"
    );
    eprintln!("{var} is not set: {what} not tested here (`cargo xtask test` starts it)");
    None
}

#[cfg(test)]
mod tests {
    // Environment variables are process-wide; these tests read only names no other test
    // sets, and set none.
    #[test]
    fn an_unpromised_missing_service_is_skipped() {
        assert_eq!(
            super::service("none", "THREEDS_TEST_NO_SUCH_SERVICE", "nothing"),
            None
        );
    }
}
