//! Builds the built-in tool components (`guest-tools/`) for wasm32-wasip2 and puts them in OUT_DIR, where
//! `registry::sources` embeds them with `include_bytes!`. A fresh clone therefore needs nothing but cargo and
//! the toolchain file's wasm target.

fn main() {
    // `sqlx::migrate!` embeds the migration files when the crate compiles; a new file must recompile it.
    println!("cargo:rerun-if-changed=../migrations");
    let artefacts = fastintercom_guest_build::build(&[
        "fastintercom-tool-conversations",
        "fastintercom-tool-contacts",
        "fastintercom-tool-status",
        "fastintercom-tool-plugins",
        "fastintercom-tool-analytics",
        "fastintercom-tool-companies",
        "fastintercom-tool-connector",
    ])
    .unwrap_or_else(|error| panic!("building the built-in tool components failed:\n{error}"));
    fastintercom_guest_build::copy_to_out_dir(&artefacts)
        .unwrap_or_else(|error| panic!("copying the built-in tool components failed: {error}"));
}
