/* Benchmark floor: the cost of starting and ending a static process, nothing else. */
int main(void) { return 0; }
