test policies/jian-yongfeng
