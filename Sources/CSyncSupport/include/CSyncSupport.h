#ifndef CSYNCSUPPORT_H
#define CSYNCSUPPORT_H

#include "csync_fs.h"
#include "csync_sha256.h"

#endif
