/* zkclob: the whole public C API. */
#ifndef ZKCLOB_H
#define ZKCLOB_H

#include "zkclob/core.h"
#include "zkclob/device.h"
#include "zkclob/mem.h"
#include "zkclob/random.h"
#include "zkclob/zk.h"
#include "zkclob/hash.h"
#include "zkclob/merkle.h"
#include "zkclob/book.h"
#include "zkclob/md.h"
#include "zkclob/risk.h"
#include "zkclob/crypto.h"

#endif
