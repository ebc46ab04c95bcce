/* Wire constants that need storage; see ocp_wire.h. */
#include "ocp_proto.h"

const uint8_t ocp_aid[OCP_AID_LEN] = OCP_AID_BYTES;
