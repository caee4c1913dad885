"""Processes of the local stack (broker, servers), each started on 127.0.0.1 and stopped by its pid."""
