DROP TABLE device_imports;
