diff --base policies/jian-yongfeng --set dibao_standard.rural=600 --tests
