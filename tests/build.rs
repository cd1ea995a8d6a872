//! Builds the test guests for wasm32-wasip2 into OUT_DIR (see `fixtures.rs`).

fn main() {
    let artefacts = fastintercom_guest_build::build(&[
        "fastintercom-test-probe",
        "fastintercom-test-conformance",
        "fastintercom-test-swap",
        "fastintercom-test-hostile",
    ])
    .unwrap_or_else(|error| panic!("building the test guests failed:\n{error}"));
    fastintercom_guest_build::copy_to_out_dir(&artefacts)
        .unwrap_or_else(|error| panic!("copying the test guests failed: {error}"));
}
