//! The OpenAPI description documents every route the requestor API serves.

#[test]
fn every_route_is_documented() {
    let spec = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.yaml"))
        .expect("openapi.yaml");
    let router = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/src/api.rs"))
        .expect("api.rs");
    let routes: Vec<&str> = router
        .lines()
        .filter_map(|l| l.trim().strip_prefix(".route(\""))
        .filter_map(|l| l.split('"').next())
        .collect();
    assert!(routes.len() >= 3, "{routes:?}");
    for route in routes {
        // `{id}` in the router is named in the spec.
        let documented = route.replace("{id}", "{threeDSServerTransID}");
        assert!(
            spec.contains(&format!("  {documented}:")),
            "{route} is not in openapi.yaml"
        );
    }
}
