/* wakefoot: what one event-loop wake-up touches, from a valgrind trace.
 *
 *   valgrind --tool=lackey --trace-mem=yes --trace-syscalls=yes PROXY ... 2>&1 >/dev/null \
 *       | wakefoot SKIP [PREFIX]
 *
 * Reads lackey's memory trace ("I  addr,size" for an instruction, " L/S/M addr,size" for
 * data) interleaved with valgrind's syscall trace, and cuts it at every epoll_wait call.
 * For each piece that made a recvfrom (a wake-up that relayed something) it counts the
 * distinct 64-byte lines and 4 KiB pages touched, code and data apart; the first SKIP
 * pieces (start-up, connection set-up) are left out. At 5,000 msgs/s every message is its
 * own wake-up and finds the caches cold, so what a wake-up costs follows what it touches.
 *
 * Prints one line of averages per counted wake-up. With PREFIX it also writes
 * PREFIX-pages.txt ("page-address code-lines data-lines" per wake-up) and
 * PREFIX-code.txt ("line-address touches" per wake-up) for attribution against
 * /proc/PID/maps and the symbol tables (bench/profile/run footprint does that).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SET_BITS 20
#define SET_SIZE (1u << SET_BITS)

/* A set of addresses cleared in O(1) between wake-ups (a generation number per slot). */
typedef struct {
    unsigned long *keys;
    unsigned *generations;
    unsigned generation;
    long count;
} AddressSet;

static void set_init(AddressSet *s) {
    s->keys = calloc(SET_SIZE, sizeof *s->keys);
    s->generations = calloc(SET_SIZE, sizeof *s->generations);
    s->generation = 1;
    s->count = 0;
}

static void set_clear(AddressSet *s) { s->generation++; s->count = 0; }

/* Adds `key`; returns 1 when it was not there yet. */
static int set_add(AddressSet *s, unsigned long key) {
    unsigned long slot = (key * 0x9E3779B97F4A7C15ul) >> (64 - SET_BITS);
    while (s->generations[slot] == s->generation) {
        if (s->keys[slot] == key) return 0;
        slot = (slot + 1) & (SET_SIZE - 1);
    }
    s->generations[slot] = s->generation;
    s->keys[slot] = key;
    s->count++;
    return 1;
}

/* Totals per address over all counted wake-ups (pages: code and data lines; code lines). */
#define TALLY_MAX 200000
typedef struct { unsigned long address; double value[2]; } Tally;
static Tally pages[TALLY_MAX], codeLines[TALLY_MAX];
static int pageCount, codeLineCount;

static void tally(Tally *table, int *count, unsigned long address, int column) {
    static int lastPage, lastLine;
    int *last = table == pages ? &lastPage : &lastLine;
    if (*last < *count && table[*last].address == address) { table[*last].value[column] += 1; return; }
    for (int i = 0; i < *count; i++)
        if (table[i].address == address) { table[i].value[column] += 1; *last = i; return; }
    if (*count < TALLY_MAX) {
        table[*count].address = address;
        table[*count].value[column] = 1;
        *last = (*count)++;
    }
}

int main(int argc, char **argv) {
    if (argc < 2) { fprintf(stderr, "usage: wakefoot SKIP [PREFIX] < trace\n"); return 2; }
    long skip = atol(argv[1]), pieces = 0, counted = 0, reads = 0;
    const char *prefix = argc > 2 ? argv[2] : NULL;
    AddressSet codeLineSet, codePageSet, dataLineSet, dataPageSet;
    set_init(&codeLineSet); set_init(&codePageSet); set_init(&dataLineSet); set_init(&dataPageSet);
    double sumCodeLines = 0, sumCodePages = 0, sumDataLines = 0, sumDataPages = 0, sumInstructions = 0;
    long instructions = 0;
    static char line[65536];
    while (fgets(line, sizeof line, stdin)) {
        int isCode = line[0] == 'I';
        int isData = line[0] == ' ' && (line[1] == 'L' || line[1] == 'S' || line[1] == 'M');
        if (isCode || isData) {
            char *p = line + 2;
            while (*p == ' ') p++;
            unsigned long address = strtoul(p, NULL, 16);
            int counting = pieces >= skip;
            if (isCode) {
                instructions++;
                if (set_add(&codeLineSet, address >> 6) && counting) {
                    tally(pages, &pageCount, address >> 12, 0);
                    tally(codeLines, &codeLineCount, address >> 6, 0);
                }
                set_add(&codePageSet, address >> 12);
            } else {
                if (set_add(&dataLineSet, address >> 6) && counting) tally(pages, &pageCount, address >> 12, 1);
                set_add(&dataPageSet, address >> 12);
            }
            continue;
        }
        if (!strstr(line, "SYSCALL[")) continue;
        /* A blocking call is printed twice (its start, then "[async] --> result"); the
           start line carries the name. */
        if (strstr(line, "sys_recvfrom (")) reads++;
        if (strstr(line, "sys_epoll_wait (") || strstr(line, "sys_epoll_pwait (")) {
            pieces++;
            if (pieces > skip && reads) {
                counted++;
                sumCodeLines += codeLineSet.count; sumCodePages += codePageSet.count;
                sumDataLines += dataLineSet.count; sumDataPages += dataPageSet.count;
                sumInstructions += instructions;
            }
            set_clear(&codeLineSet); set_clear(&codePageSet); set_clear(&dataLineSet); set_clear(&dataPageSet);
            instructions = 0;
            reads = 0;
        }
    }
    if (!counted) { printf("no wake-up with a read after the first %ld (%ld in all)\n", skip, pieces); return 1; }
    printf("%ld wake-ups with a read (of %ld), each: %.0f instructions, code %.0f lines in %.1f pages, "
           "data %.0f lines in %.1f pages\n", counted, pieces, sumInstructions / counted,
           sumCodeLines / counted, sumCodePages / counted, sumDataLines / counted, sumDataPages / counted);
    if (prefix) {
        char path[4096];
        snprintf(path, sizeof path, "%s-pages.txt", prefix);
        FILE *out = fopen(path, "w");
        for (int i = 0; out && i < pageCount; i++)
            fprintf(out, "%lx %.3f %.3f\n", pages[i].address << 12, pages[i].value[0] / counted, pages[i].value[1] / counted);
        if (out) fclose(out);
        snprintf(path, sizeof path, "%s-code.txt", prefix);
        out = fopen(path, "w");
        for (int i = 0; out && i < codeLineCount; i++)
            fprintf(out, "%lx %.3f\n", codeLines[i].address << 6, codeLines[i].value[0] / counted);
        if (out) fclose(out);
    }
    return 0;
}
