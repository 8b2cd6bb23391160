/* virtio_net.h - a virtio network device without offloads. Two backends:
 * a pair of devices wired back to back inside the VMM (what one transmits
 * the other receives), or a host tap interface. */
#ifndef CHARIOT_VIRTIO_NET_H
#define CHARIOT_VIRTIO_NET_H

#include <stddef.h>
#include <stdint.h>

#include "devices/irq.h"
#include "devices/virtio_mmio.h"
#include "vmm/memory.h"

/* Frames held for a receiver that has no buffer posted; beyond, dropped. */
#define VIRTIO_NET_PENDING_MAX	256

struct virtio_net;

struct virtio_net_stats {
	uint64_t tx_frames, tx_bytes;	/* taken from the guest and sent */
	uint64_t rx_frames, rx_bytes;	/* delivered into the guest */
	uint64_t tx_dropped;		/* oversized, or the backend refused */
	uint64_t rx_dropped;		/* receiver down, backlog full, or a
					 * frame larger than its buffer */
};

/* Two devices, a and b, each receiving what the other transmits. They
 * share one lock. MACs default to 02:43:48:52:00:01 and :02. Returns 0 or
 * -errno with a message in err[errlen]. */
int virtio_net_pair_create(struct virtio_net **a, struct virtio_net **b,
			   struct guest_mem *mem, struct irq_line irq_a,
			   struct irq_line irq_b, char *err, size_t errlen);

/* A device on host tap interface ifname (created if absent; needs
 * CAP_NET_ADMIN), with a reader thread delivering its frames. MAC
 * defaults to 02:43:48:52:00:03. */
int virtio_net_tap_create(struct virtio_net **out, struct guest_mem *mem,
			  struct irq_line irq, const char *ifname, char *err,
			  size_t errlen);

/* Stops the tap reader. A pair's devices may be destroyed in any order
 * (the survivor then drops what it transmits), once no vCPU runs. */
void virtio_net_destroy(struct virtio_net *n);

/* Set the MAC the guest reads from config space; call before the guest
 * driver probes. */
void virtio_net_set_mac(struct virtio_net *n, const uint8_t mac[6]);

/* A consistent snapshot of the counters. Any thread. */
void virtio_net_get_stats(struct virtio_net *n, struct virtio_net_stats *out);

/* The transport to register on the bus (see virtio_blk_transport()). */
struct virtio_mmio *virtio_net_transport(struct virtio_net *n);

#endif
