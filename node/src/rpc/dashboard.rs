//! The live dashboard (docs/dashboard.md): static pages, scripts and the
//! JavaScript client compiled into the binary and served at `/` on the
//! RPC address, with a Content-Security-Policy that lets the page run
//! only these scripts and talk only to this node.
//!
//! The page reads the chain through the node's own JSON-RPC (HTTP for
//! reads, one WebSocket for the subscriptions that drive it live); the
//! server adds nothing but the files.

use jsonrpsee::server::{HttpBody, HttpResponse};
use std::sync::LazyLock;

/// One file the dashboard serves.
pub struct Asset {
    /// The URL path.
    pub path: &'static str,
    /// Its `Content-Type`.
    pub content_type: &'static str,
    /// The bytes.
    pub body: &'static [u8],
}

const HTML: &str = "text/html; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const TEXT: &str = "text/plain; charset=utf-8";
const SVG: &str = "image/svg+xml";

macro_rules! asset {
    ($path:literal, $ty:expr, $file:literal) => {
        Asset {
            path: $path,
            content_type: $ty,
            body: include_bytes!($file),
        }
    };
}

/// Every file, by path: the dashboard's own (node/dashboard) and the
/// JavaScript client with its vendored dependencies (rpc-client/js),
/// which the page imports through its import map as `@watt/client`.
/// The `ws` package is not served: browsers have a WebSocket.
pub static ASSETS: &[Asset] = &[
    asset!("/", HTML, "../../dashboard/index.html"),
    asset!("/dashboard/app.js", JS, "../../dashboard/app.js"),
    asset!("/dashboard/lib.js", JS, "../../dashboard/lib.js"),
    asset!("/dashboard/charts.js", JS, "../../dashboard/charts.js"),
    asset!("/dashboard/pages.js", JS, "../../dashboard/pages.js"),
    asset!("/dashboard/explorer.js", JS, "../../dashboard/explorer.js"),
    asset!("/dashboard/style.css", CSS, "../../dashboard/style.css"),
    asset!("/dashboard/icon.svg", SVG, "../../dashboard/icon.svg"),
    asset!(
        "/watt-client/index.js",
        JS,
        "../../../rpc-client/js/index.js"
    ),
    asset!(
        "/watt-client/src/address.js",
        JS,
        "../../../rpc-client/js/src/address.js"
    ),
    asset!(
        "/watt-client/src/bodies.js",
        JS,
        "../../../rpc-client/js/src/bodies.js"
    ),
    asset!(
        "/watt-client/src/bytes.js",
        JS,
        "../../../rpc-client/js/src/bytes.js"
    ),
    asset!(
        "/watt-client/src/client.js",
        JS,
        "../../../rpc-client/js/src/client.js"
    ),
    asset!(
        "/watt-client/src/encoding.js",
        JS,
        "../../../rpc-client/js/src/encoding.js"
    ),
    asset!(
        "/watt-client/src/hash.js",
        JS,
        "../../../rpc-client/js/src/hash.js"
    ),
    asset!(
        "/watt-client/src/keys.js",
        JS,
        "../../../rpc-client/js/src/keys.js"
    ),
    asset!(
        "/watt-client/src/rpc.js",
        JS,
        "../../../rpc-client/js/src/rpc.js"
    ),
    asset!(
        "/watt-client/src/tx.js",
        JS,
        "../../../rpc-client/js/src/tx.js"
    ),
    asset!(
        "/watt-client/src/websocket.js",
        JS,
        "../../../rpc-client/js/src/websocket.js"
    ),
    asset!(
        "/watt-client/vendor/noble-curves/ed25519.js",
        JS,
        "../../../rpc-client/js/vendor/noble-curves/ed25519.js"
    ),
    asset!(
        "/watt-client/vendor/noble-curves/utils.js",
        JS,
        "../../../rpc-client/js/vendor/noble-curves/utils.js"
    ),
    asset!(
        "/watt-client/vendor/noble-curves/LICENSE",
        TEXT,
        "../../../rpc-client/js/vendor/noble-curves/LICENSE"
    ),
    asset!(
        "/watt-client/vendor/noble-curves/abstract/curve.js",
        JS,
        "../../../rpc-client/js/vendor/noble-curves/abstract/curve.js"
    ),
    asset!(
        "/watt-client/vendor/noble-curves/abstract/edwards.js",
        JS,
        "../../../rpc-client/js/vendor/noble-curves/abstract/edwards.js"
    ),
    asset!(
        "/watt-client/vendor/noble-curves/abstract/fft.js",
        JS,
        "../../../rpc-client/js/vendor/noble-curves/abstract/fft.js"
    ),
    asset!(
        "/watt-client/vendor/noble-curves/abstract/frost.js",
        JS,
        "../../../rpc-client/js/vendor/noble-curves/abstract/frost.js"
    ),
    asset!(
        "/watt-client/vendor/noble-curves/abstract/hash-to-curve.js",
        JS,
        "../../../rpc-client/js/vendor/noble-curves/abstract/hash-to-curve.js"
    ),
    asset!(
        "/watt-client/vendor/noble-curves/abstract/modular.js",
        JS,
        "../../../rpc-client/js/vendor/noble-curves/abstract/modular.js"
    ),
    asset!(
        "/watt-client/vendor/noble-curves/abstract/montgomery.js",
        JS,
        "../../../rpc-client/js/vendor/noble-curves/abstract/montgomery.js"
    ),
    asset!(
        "/watt-client/vendor/noble-curves/abstract/oprf.js",
        JS,
        "../../../rpc-client/js/vendor/noble-curves/abstract/oprf.js"
    ),
    asset!(
        "/watt-client/vendor/noble-hashes/_blake.js",
        JS,
        "../../../rpc-client/js/vendor/noble-hashes/_blake.js"
    ),
    asset!(
        "/watt-client/vendor/noble-hashes/_md.js",
        JS,
        "../../../rpc-client/js/vendor/noble-hashes/_md.js"
    ),
    asset!(
        "/watt-client/vendor/noble-hashes/_u64.js",
        JS,
        "../../../rpc-client/js/vendor/noble-hashes/_u64.js"
    ),
    asset!(
        "/watt-client/vendor/noble-hashes/blake2.js",
        JS,
        "../../../rpc-client/js/vendor/noble-hashes/blake2.js"
    ),
    asset!(
        "/watt-client/vendor/noble-hashes/blake3.js",
        JS,
        "../../../rpc-client/js/vendor/noble-hashes/blake3.js"
    ),
    asset!(
        "/watt-client/vendor/noble-hashes/sha2.js",
        JS,
        "../../../rpc-client/js/vendor/noble-hashes/sha2.js"
    ),
    asset!(
        "/watt-client/vendor/noble-hashes/utils.js",
        JS,
        "../../../rpc-client/js/vendor/noble-hashes/utils.js"
    ),
    asset!(
        "/watt-client/vendor/noble-hashes/LICENSE",
        TEXT,
        "../../../rpc-client/js/vendor/noble-hashes/LICENSE"
    ),
];

/// The file served at `path`, if any (`/index.html` is `/`).
pub fn find(path: &str) -> Option<&'static Asset> {
    let path = if path == "/index.html" { "/" } else { path };
    ASSETS.iter().find(|a| a.path == path)
}

/// The text of the page's one inline script, its import map.
pub fn import_map() -> &'static str {
    let html = std::str::from_utf8(ASSETS[0].body).unwrap_or_default();
    let open = "<script type=\"importmap\">";
    html.find(open)
        .map(|i| &html[i + open.len()..])
        .and_then(|rest| rest.find("</script>").map(|j| &rest[..j]))
        .unwrap_or_default()
}

/// The Content-Security-Policy of every dashboard response: scripts from
/// this node only (and the import map, by its hash), styles from this
/// node only, connections to this node only (`'self'` covers its
/// WebSocket), no plugins, no frames, no forms posting elsewhere.
pub static CSP: LazyLock<String> = LazyLock::new(|| {
    use base64::Engine as _;
    use sha2::Digest as _;
    let hash = sha2::Sha256::digest(import_map().as_bytes());
    let hash = base64::engine::general_purpose::STANDARD.encode(hash);
    format!(
        "default-src 'none'; script-src 'self' 'sha256-{hash}'; style-src 'self'; \
         img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; \
         frame-ancestors 'none'"
    )
});

/// For whoever works on the dashboard: with `WATT_DASHBOARD_DIR` set to
/// the source folder (node/dashboard), the dashboard's own files are read
/// from it at each request instead of from the binary, so a reload shows
/// an edit without a rebuild. The client library is always the built-in
/// one, and the import map's hash is the built-in page's.
fn body_of(asset: &Asset) -> Vec<u8> {
    let from_dir = std::env::var_os("WATT_DASHBOARD_DIR").and_then(|dir| {
        let name = match asset.path {
            "/" => "index.html",
            p => p.strip_prefix("/dashboard/")?,
        };
        std::fs::read(std::path::Path::new(&dir).join(name)).ok()
    });
    from_dir.unwrap_or_else(|| asset.body.to_vec())
}

/// The response for an asset: its bytes with the CSP and headers that
/// keep a browser from reading it as anything else.
pub fn respond(asset: &Asset) -> HttpResponse {
    http::Response::builder()
        .status(200)
        .header(http::header::CONTENT_TYPE, asset.content_type)
        .header(http::header::CONTENT_SECURITY_POLICY, CSP.as_str())
        .header(http::header::X_CONTENT_TYPE_OPTIONS, "nosniff")
        .header(http::header::REFERRER_POLICY, "no-referrer")
        .header(http::header::X_FRAME_OPTIONS, "DENY")
        // The files change only with the binary: revalidate on reload.
        .header(http::header::CACHE_CONTROL, "no-cache")
        .body(HttpBody::from(body_of(asset)))
        .unwrap_or_else(|_| HttpResponse::new(HttpBody::from("internal error")))
}

/// Whether a browser's `Origin` is the dashboard's own page: the origin
/// `http://HOST` for the request's own `Host`, where the host is an IP
/// address or `localhost`. A name is not enough: a site that points its
/// own name at this node (DNS rebinding) would otherwise be "same origin"
/// with it; names are allowed through `--rpc-cors` only.
pub fn same_origin(origin: &str, host: Option<&str>) -> bool {
    let Some(host) = host else {
        return false;
    };
    let Some(rest) = origin.strip_prefix("http://") else {
        return false;
    };
    if rest != host {
        return false;
    }
    let name = match host.strip_prefix('[') {
        // [v6]:port
        Some(v6) => match v6.split_once(']') {
            Some((addr, port)) if port.is_empty() || port.starts_with(':') => {
                return addr.parse::<std::net::Ipv6Addr>().is_ok();
            }
            _ => return false,
        },
        None => host.rsplit_once(':').map_or(host, |(name, _)| name),
    };
    name == "localhost" || name.parse::<std::net::Ipv4Addr>().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;
    use std::path::{Path, PathBuf};

    fn repo() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
    }

    /// Every `.js` file of a folder, recursively, as paths relative to it.
    fn js_files(dir: &Path, base: &Path, out: &mut BTreeSet<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let p = entry.unwrap().path();
            if p.is_dir() {
                js_files(&p, base, out);
            } else if p.extension().is_some_and(|e| e == "js") {
                let rel = p.strip_prefix(base).unwrap().to_string_lossy().to_string();
                out.insert(rel);
            }
        }
    }

    #[test]
    fn every_file_of_the_client_and_the_dashboard_is_served() {
        let served: BTreeSet<&str> = ASSETS.iter().map(|a| a.path).collect();
        let mut wanted = BTreeSet::new();
        let js = repo().join("rpc-client/js");
        for sub in ["src", "vendor/noble-curves", "vendor/noble-hashes"] {
            let mut files = BTreeSet::new();
            js_files(&js.join(sub), &js, &mut files);
            wanted.extend(files.into_iter().map(|f| format!("/watt-client/{f}")));
        }
        let mut own = BTreeSet::new();
        js_files(
            &repo().join("node/dashboard"),
            &repo().join("node"),
            &mut own,
        );
        wanted.extend(own.into_iter().map(|f| format!("/{f}")));
        for w in &wanted {
            assert!(served.contains(w.as_str()), "{w} is not served");
        }
    }

    /// The relative imports of every served script, resolved against its
    /// path, name served files: a page never asks for a missing module.
    #[test]
    fn every_import_of_a_served_script_is_served() {
        let served: BTreeSet<&str> = ASSETS.iter().map(|a| a.path).collect();
        let map = import_map();
        let mut checked = 0;
        for a in ASSETS.iter().filter(|a| a.content_type == JS) {
            let text = std::str::from_utf8(a.body).unwrap();
            // Code lines only: the vendored files' doc comments show
            // imports by package name.
            let code: Vec<&str> = text
                .lines()
                .filter(|l| {
                    let l = l.trim_start();
                    !l.starts_with('*') && !l.starts_with("//") && !l.starts_with("/*")
                })
                .collect();
            let text = code.join("\n");
            for quote in ['\'', '"'] {
                for part in text.split(&format!("from {quote}")).skip(1) {
                    let spec = part.split(quote).next().unwrap();
                    let target = if spec.starts_with('.') {
                        let dir = a.path.rsplit_once('/').unwrap().0;
                        normalise(&format!("{dir}/{spec}"))
                    } else if spec.starts_with('/') {
                        spec.to_string()
                    } else {
                        assert!(map.contains(&format!("\"{spec}\"")), "{spec} not mapped");
                        continue;
                    };
                    assert!(
                        served.contains(target.as_str()),
                        "{} imports {spec}: {target} is not served",
                        a.path
                    );
                    checked += 1;
                }
            }
        }
        assert!(checked > 30, "{checked}");
    }

    fn normalise(path: &str) -> String {
        let mut parts: Vec<&str> = Vec::new();
        for p in path.split('/') {
            match p {
                "" | "." => {}
                ".." => {
                    parts.pop();
                }
                p => parts.push(p),
            }
        }
        format!("/{}", parts.join("/"))
    }

    #[test]
    fn the_page_has_one_inline_script_and_the_policy_names_its_hash() {
        let html = std::str::from_utf8(ASSETS[0].body).unwrap();
        assert!(import_map().contains("\"@watt/client\""));
        // Every other script is loaded from the node.
        let inline = html
            .split("<script")
            .skip(1)
            .filter(|tag| !tag.split('>').next().unwrap_or_default().contains(" src="))
            .count();
        assert_eq!(inline, 1, "only the import map is inline");
        assert!(CSP.contains("script-src 'self' 'sha256-"), "{}", *CSP);
        assert!(!CSP.contains("unsafe"), "{}", *CSP);
    }

    /// No script of the dashboard turns text into markup: chain text
    /// (names, reasons, purposes) is only ever set as text.
    #[test]
    fn no_dashboard_script_parses_html() {
        for a in ASSETS
            .iter()
            .filter(|a| a.path.starts_with("/dashboard/") && a.content_type == JS)
        {
            let text = std::str::from_utf8(a.body).unwrap();
            for sink in [
                "innerHTML",
                "outerHTML",
                "insertAdjacentHTML",
                "document.write",
                "eval(",
                "new Function",
                "createContextualFragment",
                "DOMParser",
            ] {
                assert!(!text.contains(sink), "{} uses {sink}", a.path);
            }
        }
    }

    #[test]
    fn same_origin_needs_an_address_not_a_name() {
        assert!(same_origin("http://127.0.0.1:9944", Some("127.0.0.1:9944")));
        assert!(same_origin("http://10.0.0.5:9944", Some("10.0.0.5:9944")));
        assert!(same_origin("http://[::1]:9944", Some("[::1]:9944")));
        assert!(same_origin("http://localhost:9944", Some("localhost:9944")));
        // DNS rebinding: a site's own name pointed at the node.
        assert!(!same_origin(
            "http://evil.example:9944",
            Some("evil.example:9944")
        ));
        // Another origin, or none.
        assert!(!same_origin("http://evil.example", Some("127.0.0.1:9944")));
        assert!(!same_origin("http://127.0.0.1:9944", None));
        assert!(!same_origin(
            "https://127.0.0.1:9944",
            Some("127.0.0.1:9944")
        ));
        assert!(!same_origin(
            "http://127.0.0.1:9945",
            Some("127.0.0.1:9944")
        ));
    }
}
