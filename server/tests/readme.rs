//! The README's configuration table and `.env.example` list exactly the variables the server
//! reads (`nango_server::config::VARIABLES`, which `nango-server help` prints).

use std::collections::BTreeSet;

fn read(file: &str) -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    std::fs::read_to_string(format!("{path}/{file}")).unwrap_or_else(|e| panic!("cannot read {file}: {e}"))
}

fn variables() -> BTreeSet<&'static str> {
    nango_server::config::VARIABLES.iter().map(|v| v.name).collect()
}

/// Asserts that `documented` names exactly the variables, naming only the differences.
fn assert_lists_the_variables(documented: &BTreeSet<&str>, file: &str) {
    let variables = variables();
    let missing: Vec<_> = variables.difference(documented).collect();
    let unknown: Vec<_> = documented.difference(&variables).collect();
    assert!(
        missing.is_empty() && unknown.is_empty(),
        "{file} misses {missing:?} and lists {unknown:?}, which the server does not read"
    );
}

fn is_variable_name(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
}

#[test]
fn readme_configuration_table_lists_every_variable_and_no_other() {
    let readme = read("README.md");
    let section = readme.split("\n## Configuration\n").nth(1).expect("README.md has a Configuration section");
    let section = section.split("\n## ").next().unwrap_or(section);
    // First cells of the table rows: `NAME` or `NAME_A`, `NAME_B`.
    let documented: BTreeSet<&str> = section
        .lines()
        .filter_map(|row| row.strip_prefix("| `"))
        .filter_map(|row| row.split(" |").next())
        .flat_map(|cell| cell.split('`'))
        .filter(|name| is_variable_name(name))
        .collect();
    assert_lists_the_variables(&documented, "README.md's configuration table");
}

#[test]
fn env_example_lists_every_variable_and_no_other() {
    let example = read(".env.example");
    // `NAME=value` lines, set or commented out.
    let listed: BTreeSet<&str> = example
        .lines()
        .map(|line| line.trim_start_matches('#').trim())
        .filter_map(|line| line.split_once('=').map(|(name, _)| name))
        .filter(|name| is_variable_name(name))
        .collect();
    assert_lists_the_variables(&listed, ".env.example");
}
