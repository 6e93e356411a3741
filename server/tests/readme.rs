//! The README documents every configuration variable the server reads.

#[test]
fn readme_lists_every_configuration_variable() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).unwrap();
    for var in nango_server::config::VARIABLES {
        let name = var.name;
        assert!(readme.contains(&format!("`{name}`")), "README.md does not document {name}");
    }
}
