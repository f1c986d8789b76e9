#ifndef CLINUXSHIMS_H
#define CLINUXSHIMS_H

#include <stdbool.h>

/// Whether the calling process has CAP_NET_ADMIN in its effective set (libcap).
/// Returns false when the capability state cannot be read.
bool flannel_has_cap_net_admin(void);

#endif
