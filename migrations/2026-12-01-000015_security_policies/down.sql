DROP TABLE security_policies;
