"""Work lists: the desks' queues and the crews' tickets."""
