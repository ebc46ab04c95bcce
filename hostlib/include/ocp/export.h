/** @file ocp/export.h  Symbol visibility for libocp. */
#ifndef OCP_EXPORT_H
#define OCP_EXPORT_H

#if defined(OCP_BUILDING_LIBRARY) && defined(__GNUC__)
#define OCP_API __attribute__((visibility("default")))
#else
#define OCP_API
#endif

#endif
