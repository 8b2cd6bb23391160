// SPDX-License-Identifier: GPL-2.0
/*
 * domain.c - one isolation domain per module named in the isolate
 * parameter.  Its id, and the "name id" DOMAIN_CREATE carries as its
 * cookie, is the module's place in that list: the VMM wrote the list
 * (chariot_monitor.isolate=), so it names the domain from it
 * (src/iso/engine.h).
 *
 * A module notifier follows modules as they load and unload:
 *  COMING, isolated: (the DOMAIN_DESTROY of its watched domain, if it
 *      has one: watch.c), DOMAIN_CREATE (core text), DOMAIN_CODE (init text),
 *      GRANT MODULE_DATA of its writable data (core data and bss, the
 *      ro_after_init data its init may still write, init data, its
 *      per-CPU area on every CPU, and every CPU's preempt count, which
 *      inline kernel code in the driver writes), then a kretprobe on each
 *      function (probes.c) before its init function runs;
 *  COMING, any other: TRUSTED_RANGE of its core text;
 *  GOING, any other: TRUSTED_GONE of it;
 *  LIVE, isolated: the init probes removed, DOMAIN_UNCODE of its init
 *      text (freed next: the VMM must stop taking those pages for the
 *      driver's code), the ro_after_init and init data grants revoked
 *      (that memory is read-only or freed now);
 *  GOING, isolated: probes removed, DOMAIN_DESTROY (after a fault in
 *      init, its exit function first: module_going()).
 * Modules already loaded when the monitor starts are walked once: an
 * isolated one is attached late (its init and what it allocated before
 * were not seen), any other gets its TRUSTED_RANGE.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/ctype.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/percpu.h>
#include <linux/rculist.h>
#include <linux/seq_file.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <asm/unaligned.h>

#include "monitor.h"
#include "watch.h"

static struct chariot_domain domains[CHARIOT_RING_MAX_DOMAINS];
static unsigned int ndomains;		/* names given */
static atomic_t nlive;
static DEFINE_MUTEX(lock);		/* domain creation and destruction */
static bool notifying;

static bool within(unsigned long a, const unsigned long r[2])
{
	return a >= r[0] && a < r[1];
}

/**
 * chariot_domain_of_code() - the live domain whose code holds an address
 * @addr: a code address
 *
 * Safe in any context (lockless).
 *
 * Return: the domain id, or -1.
 */
int chariot_domain_of_code(unsigned long addr)
{
	unsigned int i;

	for (i = 0; i < ndomains; i++) {
		struct chariot_domain *d = &domains[i];

		if (smp_load_acquire(&d->live) &&
		    (within(addr, d->text) || within(addr, d->init)))
			return i;
	}
	return -1;
}

/**
 * chariot_domain_count() - live domains
 *
 * Return: how many.
 */
unsigned int chariot_domain_count(void)
{
	return atomic_read(&nlive);
}

/**
 * chariot_domain_get() - a domain by id
 * @id: the id
 *
 * Return: the domain (live or not), or NULL for an id not given.
 */
struct chariot_domain *chariot_domain_get(unsigned int id)
{
	return id < ndomains ? &domains[id] : NULL;
}

static int id_of(const char *name)
{
	unsigned int i;

	for (i = 0; i < ndomains; i++)
		if (!strcmp(domains[i].name, name))
			return i;
	return -1;
}

static void grant_module(struct chariot_batch *b, struct chariot_domain *d,
			 unsigned long start, unsigned long end, u64 cookie)
{
	if (end <= start)
		return;
	chariot_post_grant(b, d->id, CHARIOT_GRANT_MODULE_DATA, cookie,
			   (void *)start, end - start);
	d->module_grants++;
	chariot_count(module_grants);
}

/*
 * Every CPU's preempt count: preempt_disable() and friends are inline, so
 * a driver's own code writes it (kmap_atomic(), get_cpu(), ...).
 */
static void grant_preempt_count(struct chariot_batch *b,
				struct chariot_domain *d)
{
	unsigned int cpu;

	for_each_possible_cpu(cpu)
		chariot_post_grant(b, d->id, CHARIOT_GRANT_MODULE_DATA,
				   (unsigned long)&__preempt_count,
				   per_cpu_ptr(&__preempt_count, cpu),
				   sizeof(__preempt_count));
	d->module_grants++;
	chariot_count(module_grants);
}

static void grant_percpu(struct chariot_batch *b, struct chariot_domain *d,
			 struct module *mod)
{
	unsigned int cpu;

	if (!mod->percpu || !mod->percpu_size)
		return;
	for_each_possible_cpu(cpu)
		chariot_post_grant(b, d->id, CHARIOT_GRANT_MODULE_DATA,
				   (unsigned long)mod->percpu,
				   per_cpu_ptr(mod->percpu, cpu), mod->percpu_size);
	d->module_grants++;
	chariot_count(module_grants);
}

/*
 * Post the domain, its code and its data, and probe its functions.  A
 * coming module is probed first: none of its code can run before the
 * notifier chain returns, and while the VMM does not know the code yet
 * its pages are no holes of the normal view, so kprobes reading each
 * instruction and ftrace patching each entry cost no exit per access
 * (some 11 500 exits at virtio_blk's load before).  A live module is
 * probed after: an entry must find its domain live.
 */
static void create(struct chariot_domain *d, struct module *mod, bool coming)
{
	const struct module_layout *core = &mod->core_layout;
	const struct module_layout *init = &mod->init_layout;
	unsigned long base = (unsigned long)core->base;
	unsigned long ibase = (unsigned long)init->base;
	struct chariot_batch b;

	d->mod = mod;
	d->late = !coming;
	WRITE_ONCE(d->failed, false);
	d->reaper = NULL;
	d->nconfigfs = 0;
	d->module_grants = 0;
	d->text[0] = base;
	d->text[1] = base + core->text_size;
	d->init[0] = d->init[1] = 0;
	if (coming && ibase && init->text_size) {
		d->init[0] = ibase;
		d->init[1] = ibase + init->text_size;
	}
	if (coming)
		chariot_probes_attach(d, mod, coming);
	chariot_batch_init(&b);
	if (coming)
		chariot_watch_hand_over(&b, mod);
	chariot_post_create(&b, d->id, base, core->text_size, d->id);
	if (d->init[1])
		chariot_post_code(&b, d->id, ibase, init->text_size);
	grant_module(&b, d, base + core->ro_after_init_size, base + core->size,
		     base);
	if (coming) {
		grant_module(&b, d, base + core->ro_size,
			     base + core->ro_after_init_size,
			     base + core->ro_size);
		if (ibase)
			grant_module(&b, d, ibase + init->ro_after_init_size,
				     ibase + init->size, ibase);
	}
	grant_percpu(&b, d, mod);
	grant_preempt_count(&b, d);
	chariot_batch_flush(&b);
	atomic64_set(&d->enters, 0);
	atomic64_set(&d->leaves, 0);
	atomic64_set(&d->ifaces, 0);
	smp_store_release(&d->live, true);
	atomic_inc(&nlive);
	pr_info("%s: domain %u, code %#lx+%#x%s\n", d->name, d->id, base,
		core->text_size, coming ? "" :
		" (attached late: its init and earlier allocations unseen)");
	if (!coming)
		chariot_probes_attach(d, mod, coming);
}

/* Init is over: its code goes, ro_after_init turns read-only. */
static void went_live(struct chariot_domain *d, struct module *mod)
{
	const struct module_layout *core = &mod->core_layout;
	unsigned long base = (unsigned long)core->base;
	unsigned long init[2] = { d->init[0], d->init[1] };
	struct chariot_batch b;

	chariot_probes_drop_init(d);
	WRITE_ONCE(d->init[1], 0);
	WRITE_ONCE(d->init[0], 0);
	chariot_batch_init(&b);
	if (init[1])
		chariot_post_uncode(&b, d->id, init[0], init[1] - init[0]);
	if (d->late) {
		chariot_batch_flush(&b);
		return;
	}
	if (core->ro_after_init_size > core->ro_size) {
		chariot_post_revoke(&b, d->id, CHARIOT_GRANT_MODULE_DATA,
				    base + core->ro_size);
		d->module_grants--;
		chariot_count(module_revokes);
	}
	if (mod->init_layout.base &&
	    mod->init_layout.size > mod->init_layout.ro_after_init_size) {
		chariot_post_revoke(&b, d->id, CHARIOT_GRANT_MODULE_DATA,
				    (unsigned long)mod->init_layout.base);
		d->module_grants--;
		chariot_count(module_revokes);
	}
	chariot_batch_flush(&b);
}

static void destroy(struct chariot_domain *d)
{
	struct chariot_batch b;

	smp_store_release(&d->live, false);
	atomic_dec(&nlive);
	chariot_probes_detach(d);
	/* Allocation handlers that saw it live are done. */
	synchronize_rcu();
	chariot_alloc_forget(d->id);
	chariot_iface_forget(d);
	chariot_batch_init(&b);
	chariot_post_destroy(&b, d->id);
	chariot_batch_flush(&b);
	chariot_count_n(module_revokes, d->module_grants);
	d->module_grants = 0;
	d->mod = NULL;
	memset(d->text, 0, sizeof(d->text));
	memset(d->init, 0, sizeof(d->init));
	pr_info("%s: domain %u destroyed (%lld entries, %lld leaves)\n",
		d->name, d->id, atomic64_read(&d->enters),
		atomic64_read(&d->leaves));
}

static void post_trusted(struct chariot_batch *b, struct module *mod)
{
	chariot_post_trusted(b, (unsigned long)mod->core_layout.base,
			     mod->core_layout.text_size);
}

/* Its text may hold an isolated driver's code next (the VMM refuses a
 * domain over trusted code), its pages anything. */
static void post_trusted_gone(struct module *mod)
{
	struct chariot_batch b;

	chariot_batch_init(&b);
	chariot_post_trusted_gone(&b, (unsigned long)mod->core_layout.base,
				  mod->core_layout.text_size);
	chariot_batch_flush(&b);
}

static int module_event(struct notifier_block *nb, unsigned long state,
			void *data)
{
	struct module *mod = data;
	struct chariot_domain *d;
	struct chariot_batch b;
	int id = id_of(mod->name);

	d = id >= 0 ? &domains[id] : NULL;
	mutex_lock(&lock);
	switch (state) {
	case MODULE_STATE_COMING:
		if (d && !d->mod) {
			chariot_recover_coming();
			create(d, mod, true);
		} else if (!d) {
			chariot_batch_init(&b);
			post_trusted(&b, mod);
			chariot_batch_flush(&b);
		}
		break;
	case MODULE_STATE_LIVE:
		if (d && d->mod == mod) {
			went_live(d, mod);
			chariot_recover_module(d, NULL, state);
		}
		break;
	case MODULE_STATE_GOING:
		if (d && d->mod == mod) {
			destroy(d);
			chariot_recover_module(d, NULL, state);
		} else if (!d) {
			post_trusted_gone(mod);
		}
		break;
	}
	mutex_unlock(&lock);
	return NOTIFY_DONE;
}

static struct notifier_block module_nb = {
	.notifier_call = module_event,
};

/*
 * GOING after a fault in init: the module's exit function undoes what its
 * init did (chariot_recover_module()), and must run before the kprobes
 * core's own GOING notifier (priority 0) kills the module's probes: a
 * killed breakpoint probe keeps its int3 but loses the copy of the
 * instruction it single-steps, so the exit function (notrace: always a
 * breakpoint probe) jumped to address 0 (null_blk's campaign, a fault in
 * null_add_dev at load).  First in the chain, as on an rmmod, where the
 * exit runs before any GOING notifier.
 */
static int module_going(struct notifier_block *nb, unsigned long state,
			void *data)
{
	struct module *mod = data;
	int id = id_of(mod->name);

	if (state != MODULE_STATE_GOING || id < 0)
		return NOTIFY_DONE;
	mutex_lock(&lock);
	if (domains[id].mod == mod)
		chariot_recover_module(&domains[id], mod, state);
	mutex_unlock(&lock);
	return NOTIFY_DONE;
}

static struct notifier_block going_nb = {
	.notifier_call = module_going,
	.priority = INT_MAX,
};

/**
 * chariot_module_list_next() - the next name of a list "a,b-c, d"
 * @s:    where to go on from; advanced past the name
 * @name: the name, '-' made '_' (module names use '_' where files use '-')
 * @what: the parameter, for the message
 *
 * Return: 1 for a name, 0 at the end, -EINVAL for one too long.
 */
int chariot_module_list_next(const char **s, char name[MODULE_NAME_LEN],
			     const char *what)
{
	size_t n;
	char *p;

	*s += strspn(*s, ", ");
	n = strcspn(*s, ", ");
	if (!n)
		return 0;
	if (n >= MODULE_NAME_LEN) {
		pr_err("%s: name too long: %.*s\n", what, (int)n, *s);
		return -EINVAL;
	}
	memcpy(name, *s, n);
	name[n] = 0;
	for (p = name; *p; p++)
		if (*p == '-')
			*p = '_';
	*s += n;
	return 1;
}

static int parse(const char *isolate)
{
	char name[MODULE_NAME_LEN];
	int r;

	while ((r = chariot_module_list_next(&isolate, name, "isolate")) > 0) {
		if (ndomains == CHARIOT_RING_MAX_DOMAINS) {
			pr_err("isolate: more than %d modules\n",
			       CHARIOT_RING_MAX_DOMAINS);
			return -EINVAL;
		}
		strscpy(domains[ndomains].name, name, MODULE_NAME_LEN);
		domains[ndomains].id = ndomains;
		ndomains++;
	}
	return r;
}

/*
 * Modules loaded before us.  The list head `modules` is not exported; the
 * list is RCU-protected.  Isolated ones are pinned, then attached outside
 * the RCU section (probing sleeps).
 */
static void walk_loaded(void)
{
	struct module *late[CHARIOT_RING_MAX_DOMAINS], *mod;
	struct list_head *head;
	struct chariot_batch b;
	unsigned int n = 0, i;
	int id;

	head = (struct list_head *)chariot_lookup_name("modules");
	if (!head) {
		pr_warn("module list not found: modules loaded before the monitor are neither trusted nor isolated\n");
		return;
	}
	chariot_batch_init(&b);
	rcu_read_lock();
	list_for_each_entry_rcu(mod, head, list) {
		if (mod->state == MODULE_STATE_UNFORMED || mod == THIS_MODULE)
			continue;
		id = id_of(mod->name);
		if (id < 0)
			post_trusted(&b, mod);
		else if (try_module_get(mod))
			late[n++] = mod;
	}
	rcu_read_unlock();
	chariot_batch_flush(&b);
	for (i = 0; i < n; i++) {
		struct chariot_domain *d = &domains[id_of(late[i]->name)];

		mutex_lock(&lock);
		if (!d->mod)
			create(d, late[i], false);
		mutex_unlock(&lock);
		module_put(late[i]);
	}
}

/*
 * The return thunk every module's `ret` was patched to jump to (x86_return_thunk,
 * srso_return_thunk on an AMD guest with the SRSO mitigation), and what
 * it calls first (srso_safe_ret): each return of a driver to itself goes
 * through them.  The VMM may let them run in the protected view
 * (ring.h, THUNK).  A kernel without the variable returns plainly.
 */
static void post_thunks(void)
{
	unsigned long var = chariot_lookup_name("x86_return_thunk");
	struct chariot_batch b;
	unsigned long thunk;
	u8 insn[5];

	if (!var)
		return;
	thunk = *(unsigned long *)var;
	/* The VMM keeps the text of no module but the kernel's out of its
	 * holes: a bad address here changes nothing there. */
	if (!thunk || copy_from_kernel_nofault(insn, (void *)thunk,
					       sizeof(insn)))
		return;
	chariot_batch_init(&b);
	chariot_post_thunk(&b, thunk, 16);
	if (insn[0] == 0xe8)	/* call rel32 */
		chariot_post_thunk(&b, thunk + 5 +
				   (long)get_unaligned((s32 *)(insn + 1)), 16);
	chariot_batch_flush(&b);
}

/**
 * chariot_domains_start() - isolate the modules named, now and later
 * @isolate: comma-separated module names (at most
 *           CHARIOT_RING_MAX_DOMAINS)
 *
 * The ring must be active.  May sleep.
 *
 * Return: 0 or -EINVAL (a bad list), or the notifier's error.
 */
int chariot_domains_start(const char *isolate)
{
	int err;

	err = parse(isolate);
	if (err)
		return err;
	err = register_module_notifier(&going_nb);
	if (err)
		return err;
	err = register_module_notifier(&module_nb);
	if (err) {
		unregister_module_notifier(&going_nb);
		return err;
	}
	notifying = true;
	post_thunks();
	walk_loaded();
	return 0;
}

/**
 * chariot_domains_stop() - destroy every domain, follow no more modules
 *
 * May sleep.
 */
void chariot_domains_stop(void)
{
	unsigned int i;

	if (notifying) {
		unregister_module_notifier(&module_nb);
		unregister_module_notifier(&going_nb);
	}
	notifying = false;
	mutex_lock(&lock);
	for (i = 0; i < ndomains; i++)
		if (domains[i].mod)
			destroy(&domains[i]);
	mutex_unlock(&lock);
}

/**
 * chariot_domains_show() - one line per domain
 * @m: the seq_file
 */
void chariot_domains_show(struct seq_file *m)
{
	unsigned int i;

	seq_printf(m, "domains: %u live of %u named\n", atomic_read(&nlive),
		   ndomains);
	mutex_lock(&lock);
	for (i = 0; i < ndomains; i++) {
		struct chariot_domain *d = &domains[i];

		seq_printf(m, "domain %u %s: %s", d->id, d->name,
			   d->mod ? (d->late ? "live (attached late)" : "live") :
			   "not loaded");
		if (d->mod) {
			seq_printf(m, " code %#lx-%#lx", d->text[0], d->text[1]);
			chariot_probes_show(m, d);
		}
		seq_printf(m, " enters %lld leaves %lld interface %lld module-grants %u\n",
			   atomic64_read(&d->enters), atomic64_read(&d->leaves),
			   atomic64_read(&d->ifaces), d->module_grants);
	}
	mutex_unlock(&lock);
}

/**
 * chariot_domains_show_functions() - every probed function of every domain
 * @m: the seq_file
 */
void chariot_domains_show_functions(struct seq_file *m)
{
	unsigned int i;

	mutex_lock(&lock);
	for (i = 0; i < ndomains; i++)
		chariot_probes_show_functions(m, &domains[i]);
	mutex_unlock(&lock);
}
