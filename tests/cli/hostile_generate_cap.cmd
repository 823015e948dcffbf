generate --spec scenarios/populations/jian.toml --households 60000000 --policy policies/jian --period 2022-01 --out target/never-written
