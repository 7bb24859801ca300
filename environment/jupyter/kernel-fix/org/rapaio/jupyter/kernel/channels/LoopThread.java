/*
 * Replacement for org.rapaio.jupyter.kernel.channels.LoopThread of rapaio-jupyter-kernel 3.0.1 (MIT licence,
 * https://github.com/padreati/rapaio-jupyter-kernel). tinyrt's kernelspec puts this class on the class path
 * before the kernel's jar, so it shadows the original. Same name, constructor and methods; one change.
 *
 * The bug it fixes: the original start() ran super.start() and only then set running = true. When the new
 * thread was scheduled first, run() read running == false and returned at once, so the shell, control or
 * heartbeat loop of that kernel never ran: the kernel process stayed up but never answered on that channel
 * ("Kernel didn't respond in 60 seconds"). On a busy 2-core machine, 28 of 50 starts lost a loop this way or
 * through the race fixed in Channels (environment/jupyter/README.md). Here running is set before the thread
 * starts (Thread.start() publishes it to the new thread).
 */
package org.rapaio.jupyter.kernel.channels;

/**
 * Thread which runs in loop the loop body after each waiting period.
 */
public final class LoopThread extends Thread {

    private volatile boolean running = false;
    private final long sleep;
    private final Runnable loopBody;

    public LoopThread(String name, long sleep, Runnable loopBody) {
        super(name);
        this.sleep = sleep;
        this.loopBody = loopBody;
    }

    @Override
    public void run() {
        while (running) {
            loopBody.run();
            try {
                Thread.sleep(sleep);
            } catch (InterruptedException e) {
                running = false;
                return;
            }
        }
    }

    @Override
    public synchronized void start() {
        running = true;  // the fix: before super.start(), never after
        super.start();
    }

    public void shutdown() {
        running = false;
    }
}
