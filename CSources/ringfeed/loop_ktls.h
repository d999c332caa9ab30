/* What the event loop offers kernel TLS (implemented in loop_conn.c): the
 * TLS stream moves a connection's records to the kernel at a record
 * boundary, and after that some records are not plain data. */
#ifndef RF_LOOP_KTLS_H
#define RF_LOOP_KTLS_H

#include <stddef.h>
#include <stdint.h>

#include "ringfeed/loop.h"

/* Stops receiving on c. Call it from c's on_data: the armed recv is
 * cancelled, bytes it has already read still arrive through on_data, then
 * on_paused runs from the loop with no recv in flight, so nothing more has
 * left the socket. Receiving stays off until rf__conn_resume_recv (or a
 * graceful close). The hooks of one connection share one arg. */
void rf__conn_pause_recv(rf_conn *c, void (*on_paused)(rf_conn *c, void *arg), void *arg);
void rf__conn_resume_recv(rf_conn *c);

/* A failed recv (-errno other than the retryable ones) goes to fn, which
 * returns 0 to go on receiving or the reason to close the connection with.
 * kTLS RX fails a recv with EIO when the next record is not data. */
void rf__conn_set_recv_error(rf_conn *c, int (*fn)(rf_conn *c, void *arg, int err), void *arg);

/* Queues one record of TLS content type `type` (len <= 8: an alert) to go
 * after every byte queued before it, by sendmsg with a TLS_SET_RECORD_TYPE
 * cmsg; a graceful close waits for it. Returns 0, RF_ECLOSED or RF_ESTATE
 * (one is already queued). */
int rf__conn_send_record(rf_conn *c, uint8_t type, const uint8_t *data, size_t len);

#endif
