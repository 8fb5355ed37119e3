from credit.v1 import records_pb2 as _records_pb2
from credit.v1 import scoring_pb2 as _scoring_pb2
from google.protobuf import descriptor as _descriptor
from typing import ClassVar as _ClassVar

DESCRIPTOR: _descriptor.FileDescriptor
