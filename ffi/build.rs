//! Link options for the C library's shared object.
//!
//! - `SONAME libconnect_dynamodb.so.<major>`: programs linked against the library record the
//!   major version, so a later incompatible release installs beside it instead of breaking them
//!   (the release tarballs and `make install` ship `libconnect_dynamodb.so.<major>` and the
//!   `libconnect_dynamodb.so` development link).
//! - `-z defs`: every symbol the library uses must resolve at link time. Release builds link
//!   against glibc 2.17's symbol set; a function newer than that fails the build instead of
//!   becoming an undefined symbol that only fails when the library is loaded.
//!
//! Both are ELF linker options, given on Linux only: macOS and Windows name and check their
//! libraries their own way.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() != Ok("linux") {
        return;
    }
    let major = std::env::var("CARGO_PKG_VERSION_MAJOR").unwrap_or_else(|_| "0".to_owned());
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libconnect_dynamodb.so.{major}");
    println!("cargo:rustc-cdylib-link-arg=-Wl,-z,defs");
}
