// The system zstd library (Debian libzstd-dev), wrapped for Swift.
#ifndef C_O2O_ZSTD_H
#define C_O2O_ZSTD_H

#include <zstd.h>

#endif
