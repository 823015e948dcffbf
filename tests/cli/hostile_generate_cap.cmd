generate --spec scenarios/populations/jian.toml --households 60000000 --out target/never-written
