#include "CLinuxShims.h"
#include <stddef.h>
#include <sys/capability.h>

bool flannel_has_cap_net_admin(void) {
    cap_t caps = cap_get_proc();
    if (caps == NULL) {
        return false;
    }
    cap_flag_value_t value = CAP_CLEAR;
    int rc = cap_get_flag(caps, CAP_NET_ADMIN, CAP_EFFECTIVE, &value);
    cap_free(caps);
    return rc == 0 && value == CAP_SET;
}
