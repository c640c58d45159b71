//! Headless Chromium for the tests of pages (the audit report): the DOM as
//! the page's scripts left it, its console, and a screenshot. Debian's
//! `chromium` is installed by scripts/prereqs.

use std::path::Path;
use std::process::Command;

/// A headless Chromium with a throw-away profile.
pub struct Chromium {
    binary: &'static str,
    profile: tempfile::TempDir,
}

/// What a page left behind.
pub struct Page {
    /// The DOM after its scripts ran.
    pub html: String,
    /// The browser's log (console messages land here).
    pub log: String,
}

impl Chromium {
    /// Finds `chromium` (or `chromium-browser`); panics with how to install it.
    pub fn new() -> Chromium {
        let binary = ["chromium", "chromium-browser"]
            .into_iter()
            .find(|c| {
                Command::new(c)
                    .arg("--version")
                    .output()
                    .is_ok_and(|o| o.status.success())
            })
            .unwrap_or_else(|| {
                panic!("chromium is not installed: run scripts/prereqs (it installs Debian's chromium)")
            });
        Chromium {
            binary,
            profile: tempfile::tempdir().expect("profile dir"),
        }
    }

    fn command(&self) -> Command {
        let mut cmd = Command::new(self.binary);
        cmd.args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-extensions",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", self.profile.path().display()));
        cmd
    }

    /// Loads a file and returns its DOM; asserts that no script failed and
    /// nothing was logged to the console.
    pub fn open(&self, page: &Path) -> Page {
        let out = self
            .command()
            .arg("--dump-dom")
            .arg(format!("file://{}", page.display()))
            .output()
            .expect("chromium runs");
        let page = Page {
            html: String::from_utf8_lossy(&out.stdout).into_owned(),
            log: String::from_utf8_lossy(&out.stderr).into_owned(),
        };
        assert!(
            !page.html.contains("data-js-error=\""),
            "a script error: {}",
            page.html
        );
        assert!(
            !page.log.contains("Uncaught") && !page.log.contains(":CONSOLE"),
            "console output: {}",
            page.log
        );
        page
    }

    /// Takes a screenshot of a file at `width` x `height` into `shot`.
    pub fn screenshot(&self, page: &Path, shot: &Path, width: u32, height: u32) {
        let out = self
            .command()
            .arg(format!("--screenshot={}", shot.display()))
            .arg(format!("--window-size={width},{height}"))
            .arg("--hide-scrollbars")
            .arg(format!("file://{}", page.display()))
            .output()
            .expect("chromium runs");
        assert!(
            shot.exists(),
            "no screenshot: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Default for Chromium {
    fn default() -> Self {
        Self::new()
    }
}

impl Page {
    /// A number the page's script wrote into an attribute `name="N"`;
    /// panics if the script did not run.
    pub fn count(&self, name: &str) -> usize {
        self.html
            .split(&format!("{name}=\""))
            .nth(1)
            .and_then(|r| r.split('"').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("the page's script did not set {name}: {}", self.html))
    }
}
