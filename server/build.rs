//! Link step of the server binary.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    // Relative relocations in the compact RELR form (glibc 2.36+, binutils 2.38+): the PIE
    // keeps its address randomisation, but the dynamic loader no longer reads a 1 MB
    // `.rela.dyn` table at every start, and that table's pages no longer stay resident in
    // every replica. See docs/performance.md ("Memory").
    if std::env::var_os("CARGO_CFG_TARGET_OS").is_some_and(|os| os == "linux")
        && std::env::var_os("CARGO_CFG_TARGET_ENV").is_some_and(|env| env == "gnu")
    {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
}
