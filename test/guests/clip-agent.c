/*
 * nestbox-clip: the smallest SPICE clipboard agent, for the test guest (which has no X session for spice-vdagent).
 * It speaks the vdagent protocol on the virtio-serial port "com.redhat.spice.0" that Nestbox's QEMU backend gives
 * every VM, so the tests can check the clipboard both ways through QEMU's qemu-vdagent and VNC:
 *
 *   nestbox-clip [TEXT]
 *     - announces clipboard-by-demand;
 *     - with TEXT, grabs the guest clipboard and answers the host's requests with TEXT (guest → host);
 *     - when the host grabs the clipboard (a VNC client sent cut text), asks for the text and prints
 *       "NESTBOX-CLIP-IN <text>" on stdout (host → guest).
 *
 * Built statically with the host's gcc when the amd64 test guest is built (test/guests/build.ts).
 * Protocol: spice-protocol's vd_agent.h (little-endian, packed): a chunk header {u32 port, u32 size} followed by
 * messages {u32 protocol, u32 type, u64 opaque, u32 size, data}.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { VDP_CLIENT_PORT = 1, VD_AGENT_PROTOCOL = 1 };
enum { VD_AGENT_CLIPBOARD = 4, VD_AGENT_ANNOUNCE_CAPABILITIES = 6, VD_AGENT_CLIPBOARD_GRAB = 7, VD_AGENT_CLIPBOARD_REQUEST = 8 };
enum { VD_AGENT_CAP_CLIPBOARD_BY_DEMAND = 5 };
enum { VD_AGENT_CLIPBOARD_UTF8_TEXT = 1 };
enum { HDR = 20, MAX_MSG = 1 << 20 };

static int fd = -1;

static void put32(uint8_t *p, uint32_t v) {
  p[0] = v & 0xff, p[1] = (v >> 8) & 0xff, p[2] = (v >> 16) & 0xff, p[3] = (v >> 24) & 0xff;
}
static uint32_t get32(const uint8_t *p) { return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24; }

static int write_all(const uint8_t *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w <= 0) return -1;
    p += w, n -= (size_t)w;
  }
  return 0;
}

static int read_all(uint8_t *p, size_t n) {
  while (n > 0) {
    ssize_t r = read(fd, p, n);
    if (r <= 0) return -1;
    p += r, n -= (size_t)r;
  }
  return 0;
}

/* One message in one chunk (QEMU reassembles chunks, and our messages are small). */
static void send_msg(uint32_t type, const uint8_t *data, uint32_t size) {
  uint8_t *buf = calloc(1, 8 + HDR + size);
  if (!buf) exit(3);
  put32(buf, VDP_CLIENT_PORT);
  put32(buf + 4, HDR + size);
  put32(buf + 8, VD_AGENT_PROTOCOL);
  put32(buf + 12, type);
  put32(buf + 24, size); /* opaque (u64) at +16 stays 0 */
  if (size) memcpy(buf + 28, data, size);
  if (write_all(buf, 8 + HDR + size) != 0) {
    perror("nestbox-clip: write");
    exit(1);
  }
  free(buf);
}

static void send_caps(int request) {
  uint8_t d[8];
  put32(d, (uint32_t)request);
  put32(d + 4, 1u << VD_AGENT_CAP_CLIPBOARD_BY_DEMAND);
  send_msg(VD_AGENT_ANNOUNCE_CAPABILITIES, d, sizeof d);
}

static int find_port(char *path, size_t len) {
  DIR *dir = opendir("/sys/class/virtio-ports");
  struct dirent *e;
  if (!dir) return -1;
  while ((e = readdir(dir)) != NULL) {
    char name[512], want[64] = {0};
    if (e->d_name[0] == '.') continue;
    snprintf(name, sizeof name, "/sys/class/virtio-ports/%s/name", e->d_name);
    int nfd = open(name, O_RDONLY);
    if (nfd < 0) continue;
    ssize_t r = read(nfd, want, sizeof want - 1);
    close(nfd);
    if (r > 0 && strncmp(want, "com.redhat.spice.0", 18) == 0) {
      snprintf(path, len, "/dev/%s", e->d_name);
      closedir(dir);
      return 0;
    }
  }
  closedir(dir);
  return -1;
}

int main(int argc, char **argv) {
  const char *text = argc > 1 ? argv[1] : NULL;
  char dev[300];
  if (find_port(dev, sizeof dev) != 0) {
    fprintf(stderr, "nestbox-clip: no com.redhat.spice.0 port (is virtio_console loaded?)\n");
    return 2;
  }
  fd = open(dev, O_RDWR);
  if (fd < 0) {
    perror(dev);
    return 2;
  }
  send_caps(1);
  if (text) {
    uint8_t d[4];
    put32(d, VD_AGENT_CLIPBOARD_UTF8_TEXT);
    send_msg(VD_AGENT_CLIPBOARD_GRAB, d, sizeof d);
  }
  printf("NESTBOX-CLIP-AGENT ready on %s\n", dev);
  fflush(stdout);

  /* Messages may span chunks: gather chunk payloads until a whole message is in. */
  uint8_t *msg = malloc(MAX_MSG + HDR);
  size_t have = 0;
  if (!msg) return 3;
  for (;;) {
    uint8_t ch[8];
    if (read_all(ch, sizeof ch) != 0) break;
    uint32_t size = get32(ch + 4);
    if (size > MAX_MSG || have + size > MAX_MSG + HDR) {
      fprintf(stderr, "nestbox-clip: chunk too large (%u)\n", size);
      return 1;
    }
    if (read_all(msg + have, size) != 0) break;
    have += size;
    if (have < HDR || have < HDR + get32(msg + 16)) continue;
    uint32_t type = get32(msg + 4), len = get32(msg + 16);
    const uint8_t *data = msg + HDR;
    if (type == VD_AGENT_ANNOUNCE_CAPABILITIES && len >= 4 && get32(data)) {
      send_caps(0);
    } else if (type == VD_AGENT_CLIPBOARD_REQUEST && len >= 4 && get32(data) == VD_AGENT_CLIPBOARD_UTF8_TEXT) {
      size_t n = text ? strlen(text) : 0;
      uint8_t *d = malloc(4 + n);
      if (!d) return 3;
      put32(d, VD_AGENT_CLIPBOARD_UTF8_TEXT);
      if (n) memcpy(d + 4, text, n);
      send_msg(VD_AGENT_CLIPBOARD, d, (uint32_t)(4 + n));
      free(d);
    } else if (type == VD_AGENT_CLIPBOARD_GRAB) {
      uint8_t d[4];
      put32(d, VD_AGENT_CLIPBOARD_UTF8_TEXT);
      send_msg(VD_AGENT_CLIPBOARD_REQUEST, d, sizeof d);
    } else if (type == VD_AGENT_CLIPBOARD && len >= 4 && get32(data) == VD_AGENT_CLIPBOARD_UTF8_TEXT) {
      printf("NESTBOX-CLIP-IN %.*s\n", (int)(len - 4), (const char *)data + 4);
      fflush(stdout);
    }
    have = 0;
  }
  return 0;
}
