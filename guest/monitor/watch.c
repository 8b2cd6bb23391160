// SPDX-License-Identifier: GPL-2.0
/*
 * watch.c - modules the VMM only watches (watch=MOD[,MOD...]): it needs
 * their relocated code before their init runs, to inject a fault into it
 * (src/inject/inject.h), in a run where they are not isolated.
 *
 * A watched module gets the domain id (and name id) after the isolated
 * ones: the VMM lists the isolated modules first, then the watched ones,
 * and names domains by that place (src/iso/engine.h).  Only its code is
 * posted: DOMAIN_CREATE of its core text when it is COMING (relocated,
 * init not run yet), DOMAIN_DESTROY when it is GOING.  Nothing else: no
 * probes, no grants, no entries, no recovery; the kernel runs it as any
 * other module, and the VMM never protects it.  The notifier runs before
 * the isolation one (priority 1).
 *
 * A module named in both lists (a fault injected into an isolated driver)
 * is watched only until the isolation takes it over: its DOMAIN_CREATE
 * here gives the VMM its text as the loader left it, before the isolation
 * probes its functions (kprobes' int3 bytes would shift the decoder's
 * instruction count, and with it which mutation a seed picks: a different
 * fault than in the unprotected run of the same seed).  The isolation's
 * DOMAIN_CREATE batch then starts with this one's DOMAIN_DESTROY
 * (chariot_watch_hand_over()): never two domains with the same code.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/string.h>

#include "monitor.h"
#include "watch.h"

static char *watch = "";
module_param(watch, charp, 0444);
MODULE_PARM_DESC(watch, "modules whose code the VMM watches (fault injection): NAME[,NAME...]");

struct watched {
	char name[MODULE_NAME_LEN];
	struct module *mod;
};

static struct watched watched[CHARIOT_RING_MAX_DOMAINS];
static unsigned int nwatched, first;
static DEFINE_MUTEX(lock);
static bool notifying;

static struct watched *find(const char *name)
{
	unsigned int i;

	for (i = 0; i < nwatched; i++)
		if (!strcmp(watched[i].name, name))
			return &watched[i];
	return NULL;
}

static int module_event(struct notifier_block *nb, unsigned long state,
			void *data)
{
	struct module *mod = data;
	struct watched *w = find(mod->name);
	unsigned int id = w ? first + (unsigned int)(w - watched) : 0;
	struct chariot_batch b;

	if (!w)
		return NOTIFY_DONE;
	mutex_lock(&lock);
	chariot_batch_init(&b);
	if (state == MODULE_STATE_COMING && !w->mod) {
		w->mod = mod;
		chariot_post_create(&b, id, (unsigned long)mod->core_layout.base,
				    mod->core_layout.text_size, id);
		pr_info("%s: watched, domain %u, code %#lx+%#x\n", w->name, id,
			(unsigned long)mod->core_layout.base,
			mod->core_layout.text_size);
	} else if (state == MODULE_STATE_GOING && w->mod == mod) {
		w->mod = NULL;
		chariot_post_destroy(&b, id);
	}
	chariot_batch_flush(&b);
	mutex_unlock(&lock);
	return NOTIFY_DONE;
}

static struct notifier_block module_nb = {
	.notifier_call = module_event,
	.priority = 1,
};

static int parse(void)
{
	char name[MODULE_NAME_LEN];
	const char *s = watch;
	int r;

	while ((r = chariot_module_list_next(&s, name, "watch")) > 0) {
		if (first + nwatched == CHARIOT_RING_MAX_DOMAINS) {
			pr_err("watch: too many modules\n");
			return -EINVAL;
		}
		strscpy(watched[nwatched++].name, name, MODULE_NAME_LEN);
	}
	return r;
}

/**
 * chariot_watch_hand_over() - a watched module is being isolated
 * @b:   the isolation's batch for it, its DOMAIN_CREATE not posted yet
 * @mod: the module, COMING
 *
 * Posts the watched domain's DOMAIN_DESTROY to @b when @mod is watched.
 */
void chariot_watch_hand_over(struct chariot_batch *b, struct module *mod)
{
	struct watched *w;

	mutex_lock(&lock);
	w = find(mod->name);
	if (w && w->mod == mod) {
		w->mod = NULL;
		chariot_post_destroy(b, first + (unsigned int)(w - watched));
	}
	mutex_unlock(&lock);
}

/**
 * chariot_watch_wanted() - were modules named in watch=?
 *
 * Return: true when the parameter is not empty.
 */
bool chariot_watch_wanted(void)
{
	return *watch;
}

/**
 * chariot_watch_start() - follow the watched modules from now on
 * @first_id: the domain id of the first one (after the isolated ones)
 *
 * The ring must be active.  May sleep.
 *
 * Return: 0, -EINVAL (a bad list), or the notifier's error.
 */
int chariot_watch_start(unsigned int first_id)
{
	int err;

	first = first_id;
	nwatched = 0;
	err = parse();
	if (err || !nwatched)
		return err;
	err = register_module_notifier(&module_nb);
	notifying = !err;
	if (!err)
		pr_info("watching: %s\n", watch);
	return err;
}

/**
 * chariot_watch_stop() - follow them no more
 *
 * May sleep.
 */
void chariot_watch_stop(void)
{
	struct chariot_batch b;
	unsigned int i;

	if (notifying)
		unregister_module_notifier(&module_nb);
	notifying = false;
	mutex_lock(&lock);
	chariot_batch_init(&b);
	for (i = 0; i < nwatched; i++)
		if (watched[i].mod) {
			watched[i].mod = NULL;
			chariot_post_destroy(&b, first + i);
		}
	chariot_batch_flush(&b);
	mutex_unlock(&lock);
}
