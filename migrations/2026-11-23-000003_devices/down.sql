DROP TABLE device_moves;
DROP TABLE devices;
