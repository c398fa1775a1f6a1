// The system RocksDB library's C API (Debian librocksdb-dev), wrapped for Swift.
#ifndef C_O2O_ROCKSDB_H
#define C_O2O_ROCKSDB_H

#include <rocksdb/c.h>

#endif
