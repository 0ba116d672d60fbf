/* SPDX-License-Identifier: BSD-3-Clause */
/* ferryd's key file and trusted keys: keys.h. */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "keys.h"
#include "log.h"

#define MAX_NETS 64 /* addresses and subnets one entry may list */

int keys_public(const uint8_t priv[32], char pub[KEYS_B64_LEN])
{
	uint8_t p[32];
	if (sodium_init() < 0 || crypto_scalarmult_base(p, priv) != 0)
		return -1;
	sodium_bin2base64(pub, KEYS_B64_LEN, p, sizeof(p), sodium_base64_VARIANT_ORIGINAL);
	return 0;
}

int keys_load(const char *path, uid_t owner, uint8_t priv[32], char *err, size_t errlen)
{
	const char *set = "security.private_key_file";
	char buf[128];
	struct stat st;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		if (errno == ENOENT)
			snprintf(err, errlen, "%s: %s does not exist: run ferryd --gen-key (with the "
				 "same settings) to create it", set, path);
		else if (errno == ELOOP)
			snprintf(err, errlen, "%s: %s is a symbolic link: name the key file itself",
				 set, path);
		else
			snprintf(err, errlen, "%s: cannot open %s: %s", set, path, strerror(errno));
		return -1;
	}
	int rc = -1;
	if (fstat(fd, &st) < 0) {
		snprintf(err, errlen, "%s: cannot stat %s: %s", set, path, strerror(errno));
	} else if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: %s is not a regular file", set, path);
	} else if (st.st_uid != owner && st.st_uid != 0) {
		const struct passwd *pw = getpwuid(owner);
		char who[64];
		if (pw)
			snprintf(who, sizeof(who), "%s", pw->pw_name);
		else
			snprintf(who, sizeof(who), "%u", (unsigned)owner);
		snprintf(err, errlen, "%s: %s is owned by uid %u, not by the user ferryd runs as "
			 "(privileges.user, uid %u) or root: run chown %s %s", set, path,
			 (unsigned)st.st_uid, (unsigned)owner, who, path);
	} else if (st.st_mode & 077) {
		snprintf(err, errlen, "%s: %s may be read or written by group or others (mode "
			 "%04o): run chmod 600 %s", set, path, (unsigned)(st.st_mode & 07777), path);
	} else {
		ssize_t n = read(fd, buf, sizeof(buf) - 1);
		size_t len = n > 0 ? (size_t)n : 0, got = 0;
		const char *end = NULL;
		while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r' || buf[len - 1] == ' '))
			len--;
		if (n < 0)
			snprintf(err, errlen, "%s: cannot read %s: %s", set, path, strerror(errno));
		else if (n == (ssize_t)sizeof(buf) - 1 ||
			 sodium_base642bin(priv, 32, buf, len, NULL, &got, &end,
					   sodium_base64_VARIANT_ORIGINAL) != 0 ||
			 got != 32 || end != buf + len)
			snprintf(err, errlen, "%s: %s does not hold a private key (one line: 32 bytes "
				 "in base64): move it away and run ferryd --gen-key for a new one",
				 set, path);
		else
			rc = 0;
	}
	sodium_memzero(buf, sizeof(buf));
	close(fd);
	return rc;
}

int keys_generate(const char *path, uid_t uid, gid_t gid, char pub[KEYS_B64_LEN], char *err,
		  size_t errlen)
{
	const char *set = "security.private_key_file";
	uint8_t priv[32];
	char line[KEYS_B64_LEN + 1];
	if (sodium_init() < 0) {
		snprintf(err, errlen, "libsodium does not start");
		return -1;
	}
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		if (errno == EEXIST)
			snprintf(err, errlen, "%s: %s exists already; ferryd --gen-key never "
				 "overwrites a key: move it away first", set, path);
		else
			snprintf(err, errlen, "%s: cannot create %s: %s", set, path, strerror(errno));
		return -1;
	}
	randombytes_buf(priv, sizeof(priv));
	sodium_bin2base64(line, KEYS_B64_LEN, priv, sizeof(priv), sodium_base64_VARIANT_ORIGINAL);
	strcat(line, "\n");
	int rc = -1;
	if (geteuid() == 0 && fchown(fd, uid, gid) < 0)
		snprintf(err, errlen, "%s: cannot give %s to uid %u: %s", set, path, (unsigned)uid,
			 strerror(errno));
	else if (fchmod(fd, 0600) < 0 || write(fd, line, strlen(line)) != (ssize_t)strlen(line) ||
		 fsync(fd) < 0)
		snprintf(err, errlen, "%s: cannot write %s: %s", set, path, strerror(errno));
	else if (keys_public(priv, pub) != 0)
		snprintf(err, errlen, "a new key gives no public key (libsodium)");
	else
		rc = 0;
	close(fd);
	if (rc < 0)
		unlink(path);
	sodium_memzero(priv, sizeof(priv));
	sodium_memzero(line, sizeof(line));
	return rc;
}

int keys_trusted(const struct ferry_config *cfg, struct fcore_trusted **out, char *err,
		 size_t errlen)
{
	const struct ferry_strlist *l = &cfg->security_trusted_peers;
	struct ferry_ipv4 nets[MAX_NETS];
	struct fcore_trusted *rows = NULL;
	int n = 0;
	char why[160];
	*out = NULL;
	for (int i = 0; i < l->n; i++) {
		uint8_t key[32];
		int k = ferry_config_parse_trusted(l->v[i], key, nets, MAX_NETS, why, sizeof(why));
		if (k < 0) {
			snprintf(err, errlen, "security.trusted_peers: entry %d: %s", i + 1, why);
			free(rows);
			return -1;
		}
		struct fcore_trusted *more = realloc(rows, (size_t)(n + k) * sizeof(*rows));
		if (more == NULL) {
			snprintf(err, errlen, "security.trusted_peers: out of memory");
			free(rows);
			return -1;
		}
		rows = more;
		for (int j = 0; j < k; j++) {
			memcpy(rows[n].key, key, 32);
			rows[n].net = (struct fcore_cidr){nets[j].addr, nets[j].prefix_len};
			n++;
		}
	}
	*out = rows;
	return n;
}

int keys_setup(const struct ferry_config *cfg, uid_t owner, uint8_t priv[32],
	       struct fcore_trusted **rows, uint32_t *n_rows)
{
	char err[512], pub[KEYS_B64_LEN];
	*rows = NULL;
	*n_rows = 0;
	if (cfg->security_mode == FERRY_SEC_NONE) {
		if (cfg->net_address.set)
			LOG_W("security.mode is none: packets between ferryds are neither "
			      "authenticated nor encrypted, so a host that sees them can read them, "
			      "forge messages or end sessions (daemon/core/SECURITY.md: set "
			      "security.mode = encrypt)");
		return 0;
	}
	int n = keys_trusted(cfg, rows, err, sizeof(err));
	if (n < 0 || keys_load(cfg->security_private_key_file, owner, priv, err, sizeof(err)) < 0) {
		LOG_E("%s", err);
		return -1;
	}
	*n_rows = (uint32_t)n;
	keys_public(priv, pub);
	LOG_N("security.mode %s: our public key %s; %d trusted key-and-subnet pairs",
	      cfg->security_mode == FERRY_SEC_ENCRYPT ? "encrypt" : "authenticate", pub, n);
	return 0;
}

/* Who owns the key file: the user ferryd drops to (as root), or we. */
static int key_owner(const struct ferry_config *cfg, uid_t *uid, gid_t *gid)
{
	*uid = geteuid();
	*gid = getegid();
	if (*uid != 0 || cfg->priv_allow_root)
		return 0;
	const struct passwd *pw = getpwnam(cfg->priv_user);
	if (pw == NULL) {
		fprintf(stderr, "ferryd: privileges.user: no user \"%s\" on this host; create it "
			"(systemd-sysusers ferry.conf) or set privileges.user\n", cfg->priv_user);
		return -1;
	}
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	return 0;
}

int keys_command(const struct ferry_config *cfg, bool gen)
{
	const char *path = cfg->security_private_key_file;
	char err[512], pub[KEYS_B64_LEN];
	uint8_t priv[32];
	uid_t uid;
	gid_t gid;
	if (path[0] != '/') {
		fprintf(stderr, "ferryd: security.private_key_file: \"%s\" is not an absolute path\n",
			path);
		return 78;
	}
	if (key_owner(cfg, &uid, &gid) < 0)
		return 78;
	int rc = gen ? keys_generate(path, uid, gid, pub, err, sizeof(err))
		     : keys_load(path, uid, priv, err, sizeof(err));
	if (rc == 0 && !gen && keys_public(priv, pub) < 0) {
		snprintf(err, sizeof(err), "security.private_key_file: %s holds no usable key", path);
		rc = -1;
	}
	sodium_memzero(priv, sizeof(priv));
	if (rc < 0) {
		fprintf(stderr, "ferryd: %s\n", err);
		return gen ? 1 : 78;
	}
	printf("%s\n", pub);
	if (gen)
		fprintf(stderr, "ferryd: wrote a new private key to %s (mode 0600, uid %u); its public "
			"key, above, goes into security.trusted_peers of each ferryd that talks to "
			"this one, with this host's address\n", path, (unsigned)uid);
	return 0;
}
