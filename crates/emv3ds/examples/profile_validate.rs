//! Validates the 2.2.0 browser AReq N times, for instruction counts that do not depend
//! on machine load:
//!
//! ```sh
//! cargo build --release -p emv3ds --example profile_validate
//! valgrind --tool=callgrind target/release/examples/profile_validate 1000
//! ```
//!
//! Divide the total by N (the start-up cost is small next to 1000 validations).

fn main() {
    let bytes = include_bytes!("../tests/data/valid/2.2.0/AReq-browser.json");
    let ds = emv3ds::Validator::new(emv3ds::Role::DirectoryServer);
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(1000);
    let mut valid = 0;
    for _ in 0..n {
        let verdict = ds.validate(std::hint::black_box(bytes), &emv3ds::Context::default());
        valid += usize::from(verdict.is_ok());
    }
    println!("{valid} of {n} valid");
}
