/* Wire constants that need storage; see ocp_wire.h. */
#include "ocp_wire.h"

const uint8_t ocp_aid[OCP_AID_LEN] = {0xF0, 0x4F, 0x43, 0x50, 0x01};
