/* Data shared by the card and libocp that is not a public constant. */
#ifndef OCP_PROTO_H
#define OCP_PROTO_H

#include <stdint.h>

#include "ocp_wire.h"

extern const uint8_t ocp_aid[OCP_AID_LEN];

#endif
