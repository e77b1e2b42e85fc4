/* A Xen PVH guest in C: see README.md. Everything below comes from Xen's
 * public headers (numbers and layouts), restated. */

#include <stdint.h>

/* public/xen.h: hypercall numbers. */
#define HYPERVISOR_xen_version      17
#define HYPERVISOR_console_io       18
#define HYPERVISOR_sched_op         29
#define HYPERVISOR_event_channel_op 32
#define HYPERVISOR_hvm_op           34
#define CONSOLEIO_write             0
#define DOMID_SELF                  0x7ff0
/* public/sched.h */
#define SCHEDOP_yield               0
#define SCHEDOP_shutdown            2
#define SHUTDOWN_poweroff           0
#define SHUTDOWN_crash              3
/* public/event_channel.h */
#define EVTCHNOP_send               4
/* public/hvm/hvm_op.h, public/hvm/params.h */
#define HVMOP_get_param             1
#define HVM_PARAM_STORE_PFN         1
#define HVM_PARAM_STORE_EVTCHN      2
/* public/io/xs_wire.h */
#define XS_READ                     2
#define XS_ERROR                    16
#define XENSTORE_RING_SIZE          1024

struct xen_hvm_param {
	uint16_t domid;
	uint16_t pad;
	uint32_t index;
	uint64_t value;
} __attribute__((packed, aligned(4)));

struct xenstore_domain_interface {
	char req[XENSTORE_RING_SIZE];
	char rsp[XENSTORE_RING_SIZE];
	volatile uint32_t req_cons, req_prod;
	volatile uint32_t rsp_cons, rsp_prod;
};

struct xsd_sockmsg {
	uint32_t type, req_id, tx_id, len;
};

static uint8_t hypercall_page[4096] __attribute__((aligned(4096)));

static void cpuid(uint32_t leaf, uint32_t *a, uint32_t *b, uint32_t *c, uint32_t *d)
{
	__asm__ volatile("cpuid" : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d) : "a"(leaf), "c"(0));
}

/* Xen's x86-32 convention: EAX number, EBX, ECX, EDX arguments, EAX result. */
static long hypercall(unsigned nr, uint32_t a1, uint32_t a2, uint32_t a3)
{
	long r;
	void *entry = hypercall_page + nr * 32;
	__asm__ volatile("call *%[entry]"
			 : "=a"(r), "+b"(a1), "+c"(a2), "+d"(a3)
			 : [entry] "S"(entry)
			 : "memory");
	return r;
}

static uint32_t strlen32(const char *s)
{
	uint32_t n = 0;
	while (s[n])
		n++;
	return n;
}

static void print(const char *s)
{
	hypercall(HYPERVISOR_console_io, CONSOLEIO_write, strlen32(s), (uint32_t)s);
}

static void print_dec(uint32_t v)
{
	char buf[12];
	int i = 11;
	buf[i] = 0;
	do {
		buf[--i] = '0' + v % 10;
		v /= 10;
	} while (v);
	print(buf + i);
}

static void shutdown(uint32_t reason)
{
	hypercall(HYPERVISOR_sched_op, SCHEDOP_shutdown, (uint32_t)&reason, 0);
	for (;;)
		__asm__ volatile("hlt");
}

static int get_param(uint32_t index, uint64_t *value)
{
	struct xen_hvm_param p = {.domid = DOMID_SELF, .index = index};
	long r = hypercall(HYPERVISOR_hvm_op, HVMOP_get_param, (uint32_t)&p, 0);
	*value = p.value;
	return (int)r;
}

/* Copy n bytes into (or out of) a 1 KiB ring at a free-running index. */
static void ring_put(char *ring, uint32_t idx, const void *src, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		ring[(idx + i) & (XENSTORE_RING_SIZE - 1)] = ((const char *)src)[i];
}

static void ring_get(const char *ring, uint32_t idx, void *dst, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		((char *)dst)[i] = ring[(idx + i) & (XENSTORE_RING_SIZE - 1)];
}

/* Read a XenStore key: one XS_READ request, then wait for the whole reply. */
static int store_read(struct xenstore_domain_interface *intf, uint32_t port,
		      const char *path, char *value, uint32_t max)
{
	struct xsd_sockmsg m = {.type = XS_READ, .req_id = 1, .len = strlen32(path) + 1};
	uint32_t prod = intf->req_prod;
	ring_put(intf->req, prod, &m, sizeof m);
	ring_put(intf->req, prod + sizeof m, path, m.len);
	__asm__ volatile("" ::: "memory"); /* the request before its index (x86 keeps stores in order) */
	intf->req_prod = prod + sizeof m + m.len;
	hypercall(HYPERVISOR_event_channel_op, EVTCHNOP_send, (uint32_t)&port, 0);

	for (int tries = 0; tries < 100000; tries++) {
		uint32_t cons = intf->rsp_cons;
		if (intf->rsp_prod - cons >= sizeof m) {
			struct xsd_sockmsg r;
			ring_get(intf->rsp, cons, &r, sizeof r);
			if (r.len < XENSTORE_RING_SIZE && intf->rsp_prod - cons >= sizeof r + r.len) {
				uint32_t n = r.len < max - 1 ? r.len : max - 1;
				ring_get(intf->rsp, cons + sizeof r, value, n);
				value[n] = 0;
				intf->rsp_cons = cons + sizeof r + r.len;
				return r.type == XS_READ ? 0 : -1;
			}
		}
		hypercall(HYPERVISOR_sched_op, SCHEDOP_yield, 0, 0);
	}
	return -2;
}

void xen_main(uint32_t start_info)
{
	(void)start_info;
	/* Xen's leaves: the signature at 0x40000000 + 0x100 * i. */
	uint32_t base = 0, a, b, c, d;
	for (uint32_t leaf = 0x40000000; leaf < 0x40010000; leaf += 0x100) {
		cpuid(leaf, &a, &b, &c, &d);
		if (b == 0x566e6558 && c == 0x65584d4d && d == 0x4d4d566e) { /* "XenVMMXenVMM" */
			base = leaf;
			break;
		}
	}
	if (!base)
		for (;;)
			__asm__ volatile("hlt"); /* not on Xen: nobody to tell */
	cpuid(base + 2, &a, &b, &c, &d); /* EBX: the hypercall page MSR */
	uint64_t page = (uint32_t)hypercall_page;
	__asm__ volatile("wrmsr" ::"c"(b), "a"((uint32_t)page), "d"((uint32_t)(page >> 32)));

	print("xenpvh: hello from a C PVH guest\n");
	long v = hypercall(HYPERVISOR_xen_version, 0, 0, 0);
	print("xenpvh: xen_version ");
	print_dec((uint32_t)v >> 16);
	print(".");
	print_dec((uint32_t)v & 0xffff);
	print("\n");

	uint64_t pfn, port;
	if (get_param(HVM_PARAM_STORE_PFN, &pfn) || get_param(HVM_PARAM_STORE_EVTCHN, &port) || !pfn) {
		print("xenpvh: no XenStore\n");
		shutdown(SHUTDOWN_crash);
	}
	struct xenstore_domain_interface *intf = (void *)(uint32_t)(pfn << 12);
	char name[64];
	int r = store_read(intf, (uint32_t)port, "name", name, sizeof name);
	if (r) {
		print("xenpvh: reading the store key \"name\" failed\n");
		shutdown(SHUTDOWN_crash);
	}
	print("xenpvh: store: name = ");
	print(name);
	print("\n");
	shutdown(SHUTDOWN_poweroff);
}
