//! The `watt` binary: a thin shell over the `watt_node` library.
fn main() -> std::process::ExitCode {
    watt_node::cli::main()
}
