/* heap_trim — gives the heap's free pages back to the kernel.
 *
 * glibc's free() returns memory to the kernel only from the top of the heap.
 * After a burst (2,000 streams) the freed buffers lie between the few blocks
 * still in use, and the worker kept ~60 MB resident long after the last
 * stream ended. malloc_trim(0) hands back every whole free page (of every
 * arena). The proxy calls heap_trim when it has been idle for
 * HEAP_TRIM_IDLE_S: nothing in flight, nothing begun since the last request
 * ended (proxy.c, idle_cb), so never under load, at most once per idle
 * spell; the supervisor before it forks a worker. */
#ifndef ZEND_HEAP_TRIM_H
#define ZEND_HEAP_TRIM_H

#define HEAP_TRIM_IDLE_S 1.0

/* Called first thing in main, before any thread: one malloc arena for the
 * whole process. The ledger's writer thread would otherwise get an arena of
 * its own (~140 KB resident at idle, and its own free pages to keep); it
 * writes a row per request, so sharing the main arena's lock costs nothing
 * measurable. */
void heap_setup(void);
void heap_trim(void);

#endif
