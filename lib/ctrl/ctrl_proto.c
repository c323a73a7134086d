/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Which key protocol drives a group: the configuration picks an ops table
 * (GDOI or G-IKEv2 for a group with key servers, by its `protocol`; none
 * for a static group), and the control core drives the client through
 * that table alone; nothing below knows which.
 */
#include <errno.h>

#include <rte_errno.h>

#include "ctrl_private.h"

static const struct ctrl_proto_ops *
proto_of(const struct gvpn_group_conf *gc)
{
	if (!gc->gdoi)
		return NULL;
	return gc->protocol == GVPN_GROUP_PROTO_GIKEV2 ? &ctrl_gikev2_ops : &ctrl_gdoi_ops;
}

int
ctrl_group_start(struct gvpn_ctrl *c, uint8_t g)
{
	const struct ctrl_proto_ops *ops = proto_of(&c->conf.cfg->groups[g]);
	struct group *gr = &c->group[g];
	void *client;

	if (ops == NULL || gr->client != NULL)
		return 0;
	client = ops->create(c, g);
	if (client == NULL)
		return -rte_errno; /* logged */
	gr->proto = ops;
	gr->client = client;
	if (gr->debug)
		ops->debug(client, 1);
	ctrl_changed(c);
	/* registered from here on: its callbacks find it in place */
	return ops->request(client, CTRL_REQ_REGISTER, gvpn_ctrl_clock_ms());
}

int
gvpn_ctrl_gdoi_start(struct gvpn_ctrl *c)
{
	for (uint8_t g = 0; g < c->conf.cfg->n_groups; g++) {
		int rc = ctrl_group_start(c, g);

		if (rc != 0)
			return rc;
	}
	return 0;
}
