use doudi_dsl::parse::parse_file;
use doudi_dsl::diag::{render_all, SourceMap};
#[test]
fn policies() {
    let mut stack = vec![std::path::PathBuf::from("../policies"), std::path::PathBuf::from("../examples"), std::path::PathBuf::from("tests/check")];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() { stack.push(p); continue; }
            if p.extension().is_some_and(|x| x == "doudi") {
                let t = std::fs::read_to_string(&p).unwrap();
                let mut sm = SourceMap::default();
                sm.add(p.display().to_string(), t.clone());
                let (f, d) = parse_file(0, &t);
                println!("{}: {} items {}", p.display(), f.items.len(), render_all(&d, &sm));
            }
        }
    }
}
