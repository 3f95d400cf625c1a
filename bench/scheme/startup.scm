;; startup: an empty program. Its time is the cost of starting and stopping.
