//! `forestall gen`: a synthetic CMDB in the import format, deterministic by seed.
//!
//! Shape: core switches and storage arrays (very shared), rack switches that depend on a core switch, hosts that
//! depend on a rack switch (and every third on a storage array), applications that run on hosts, business services
//! that depend on applications; install base items on applications and services, a fifth of them children of another
//! item of their account; accounts of every size (a few large, a long tail). Sizes are chosen so that a core switch
//! affects about 50,000 items, a rack switch about 1,000 and an application about 10, whatever the total.

use std::{
    fs::File,
    io::{self, BufWriter, Write},
    path::Path,
};

/// What `generate` wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Generated {
    pub accounts: u64,
    pub cis: u64,
    pub relationships: u64,
    pub items: u64,
}

/// A small, fast, deterministic generator (SplitMix64): the same seed writes the same files everywhere.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Writes a CMDB of about `size` CIs and install base items (half each) into `dir`.
pub fn generate(dir: &Path, size: u64, seed: u64) -> io::Result<Generated> {
    std::fs::create_dir_all(dir)?;
    let mut rng = Rng(seed);
    let items = (size / 2).max(20);
    let cis_target = (size - size / 2).max(20);
    let cores = (items / 50_000).max(1);
    let racks = (items / 1_000).max(2);
    let arrays = 2;
    let hosts = (cis_target * 30 / 100).max(racks);
    let apps = (items / 10).max(4);
    let services = cis_target.saturating_sub(cores + arrays + racks + hosts + apps).max(2);
    let accounts = (items / 200).max(5);

    let file = |name: &str| -> io::Result<BufWriter<File>> { Ok(BufWriter::new(File::create(dir.join(name))?)) };

    let mut out = file("accounts.csv")?;
    writeln!(out, "name,kind,primary_contact")?;
    for a in 0..accounts {
        let kind = if a % 50 == 7 { "internal" } else { "external" };
        writeln!(out, "Account {a:06},{kind},ops{a}@account{a}.example")?;
    }
    out.flush()?;
    let mut out = file("contacts.csv")?;
    writeln!(out, "email,name,account")?;
    for a in 0..accounts {
        writeln!(out, "ops{a}@account{a}.example,Operations {a},Account {a:06}")?;
    }
    out.flush()?;
    let products = 50;
    let mut out = file("products.csv")?;
    writeln!(out, "name")?;
    for p in 0..products {
        writeln!(out, "Product {p:02}")?;
    }
    out.flush()?;

    let mut out = file("configuration_items.csv")?;
    writeln!(out, "name,class,fqdn,ip,in_maintenance")?;
    let ci = |out: &mut BufWriter<File>, name: String, class: &str, rng: &mut Rng| -> io::Result<()> {
        // One CI in two hundred is in maintenance, never a switch or an array (their subtrees are the benchmarks').
        let maintenance = class != "network" && class != "storage" && rng.below(200) == 0;
        let host = matches!(class, "server" | "network" | "storage");
        let n = rng.next();
        match host {
            true => writeln!(
                out,
                "{name},{class},{name}.dc.example,10.{}.{}.{},{maintenance}",
                (n >> 16) % 256,
                (n >> 8) % 256,
                n % 254 + 1
            ),
            false => writeln!(out, "{name},{class},,,{maintenance}"),
        }
    };
    for c in 0..cores {
        ci(&mut out, format!("core-switch-{c:02}"), "network", &mut rng)?;
    }
    for s in 0..arrays {
        ci(&mut out, format!("storage-array-{s:02}"), "storage", &mut rng)?;
    }
    for r in 0..racks {
        ci(&mut out, format!("rack-switch-{r:05}"), "network", &mut rng)?;
    }
    for h in 0..hosts {
        ci(&mut out, format!("host-{h:07}"), "server", &mut rng)?;
    }
    for a in 0..apps {
        ci(&mut out, format!("app-{a:07}"), "application", &mut rng)?;
    }
    for s in 0..services {
        ci(&mut out, format!("service-{s:07}"), "service", &mut rng)?;
    }
    out.flush()?;

    let mut out = file("ci_relationships.csv")?;
    writeln!(out, "parent,type,child")?;
    let mut relationships = 0;
    for r in 0..racks {
        writeln!(
            out,
            "rack-switch-{r:05},Depends on::Used by,core-switch-{:02}",
            r % cores
        )?;
        relationships += 1;
    }
    for h in 0..hosts {
        writeln!(out, "host-{h:07},Depends on::Used by,rack-switch-{:05}", h % racks)?;
        relationships += 1;
        if h % 3 == 0 {
            writeln!(out, "host-{h:07},Depends on::Used by,storage-array-{:02}", h % arrays)?;
            relationships += 1;
        }
    }
    for a in 0..apps {
        // Applications sit in the rack of their host: a rack's subtree stays about a thousand items.
        writeln!(out, "app-{a:07},Runs on::Runs,host-{:07}", a % hosts)?;
        relationships += 1;
    }
    for s in 0..services {
        // A service uses one to three applications near each other.
        let first = rng.below(apps);
        for k in 0..=rng.below(3) {
            writeln!(out, "service-{s:07},Depends on::Used by,app-{:07}", (first + k) % apps)?;
            relationships += 1;
        }
    }
    out.flush()?;

    let mut out = file("install_base_items.csv")?;
    writeln!(out, "number,name,account,contact,product,ci,parent,active,install_date")?;
    let mut last_of_account: Vec<Option<u64>> = vec![None; usize::try_from(accounts).unwrap_or(0)];
    for i in 0..items {
        let number = 1_000_001 + i;
        // Accounts of all sizes: a cubed uniform draw favours the first accounts heavily.
        let account = ((rng.unit().powi(3)) * accounts as f64) as u64 % accounts;
        let slot = usize::try_from(account).unwrap_or(0);
        let parent = match last_of_account[slot] {
            Some(parent) if rng.below(5) == 0 => Some(parent),
            _ => None,
        };
        // Items follow their CI's rack: item i sits on the application (or a service using it) of index i / 10.
        let app = (i / 10) % apps;
        let target = match (parent, rng.below(4)) {
            (Some(_), 0 | 1) => String::new(),
            (_, 0) => format!("service-{:07}", rng.below(services)),
            _ => format!("app-{app:07}"),
        };
        let active = rng.below(20) != 0;
        let parent = parent.map(|p| format!("IB{p}")).unwrap_or_default();
        writeln!(
            out,
            "IB{number},Item {number},Account {account:06},ops{account}@account{account}.example,Product {:02},{target},{parent},{active},20{:02}-{:02}-{:02}",
            rng.below(products),
            15 + rng.below(10),
            1 + rng.below(12),
            1 + rng.below(28)
        )?;
        if parent.is_empty() {
            last_of_account[slot] = Some(number);
        }
    }
    out.flush()?;
    Ok(Generated {
        accounts,
        cis: cores + arrays + racks + hosts + apps + services,
        relationships,
        items,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_writes_the_same_files() {
        let base = std::env::temp_dir().join(format!("forestall-gen-{}", std::process::id()));
        let (a, b, c) = (base.join("a"), base.join("b"), base.join("c"));
        let first = generate(&a, 2_000, 7).expect("generate");
        generate(&b, 2_000, 7).expect("generate");
        generate(&c, 2_000, 8).expect("generate");
        for file in crate::import::FILES {
            let read = |dir: &Path| std::fs::read_to_string(dir.join(file)).expect("read");
            assert_eq!(read(&a), read(&b), "{file} differs for one seed");
        }
        let items = |dir: &Path| std::fs::read_to_string(dir.join("install_base_items.csv")).expect("read");
        assert_ne!(items(&a), items(&c), "another seed, other items");
        assert_eq!(first.items + first.cis, 2_000);
        let _ = std::fs::remove_dir_all(&base);
    }
}
